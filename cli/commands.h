#pragma once
// Subcommand registry: each cli/cmd_NAME.cpp defines register_NAME, which adds a CLI11
// subcommand and a callback that runs it.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace lr::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

std::vector<Command>& registry();
void register_all(CLI::App& app);
int run_selected(CLI::App& app);

}  // namespace lr::cli
