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

// Threading variables the libraries read at start-up, and the defaults main.cpp sets where
// the caller has not (see there for why).
struct EnvDefault {
  const char* name;
  const char* value;
};
inline constexpr EnvDefault kThreadingEnv[] = {{"OMP_WAIT_POLICY", "PASSIVE"},
                                               {"OPENBLAS_THREAD_TIMEOUT", "4"}};

// The values of kThreadingEnv this process runs under, for benchmark JSON ("" where unset).
Json threading_env();

}  // namespace lr::cli
