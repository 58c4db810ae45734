#include <iostream>

#include "cli/commands.h"
#include "core/cpu_features.h"

namespace lr::cli {
void register_version(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the layerroute version");
  registry().push_back({sub, [] {
                          std::cout << "layerroute 0.1.0\n"
                                    << "kernels: " << cpu_path_summary() << "\n";
                          return 0;
                        }});
}
}  // namespace lr::cli
