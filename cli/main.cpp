// layerroute: a thin CLI over the library. Each subcommand lives in cli/cmd_*.cpp and
// registers itself in commands.h; errors become one line on stderr and exit code 1.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"layerroute: input-conditioned adaptive layer skipping (LoRA + routers)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  lr::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return lr::cli::run_selected(app);
  } catch (const lr::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
