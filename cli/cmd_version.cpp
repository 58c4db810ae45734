#include <iostream>

#include "cli/commands.h"

namespace lr::cli {
void register_version(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the layerroute version");
  registry().push_back({sub, [] {
                          std::cout << "layerroute 0.1.0\n";
                          return 0;
                        }});
}
}  // namespace lr::cli
