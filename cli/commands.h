#pragma once
// Subcommand registry: each cli/cmd_NAME.cpp defines register_NAME, which adds a CLI11
// subcommand and a callback that runs it.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "io/json.h"

namespace lr::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

std::vector<Command>& registry();
void register_all(CLI::App& app);
int run_selected(CLI::App& app);

// The threading settings this process runs under (main.cpp sets the defaults), for benchmark
// JSON: {"OMP_WAIT_POLICY": ..., "OPENBLAS_THREAD_TIMEOUT": ...}, "" where unset.
Json threading_env();

}  // namespace lr::cli
