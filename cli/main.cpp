// layerroute: a thin CLI over the library. Each subcommand lives in cli/cmd_*.cpp and
// registers itself in commands.h; errors become one line on stderr and exit code 1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "core/cpu_features.h"
#include "core/error.h"

int main(int argc, char** argv) {
  // Our pool (our kernels) and OpenBLAS's threads alternate on the same cores in training.
  // OpenBLAS's idle workers call sched_yield for 2^28 cycles after each GEMM, through our
  // kernels between GEMMs; 2^4 puts them to sleep at once (waking them costs microseconds
  // per GEMM of milliseconds). Where OpenBLAS is the OpenMP build (Debian's
  // libopenblas0-openmp alternative), OMP_WAIT_POLICY=PASSIVE keeps its idle threads from
  // spinning likewise. Both are read only at start-up, so set what the user has not and
  // re-exec once.
  bool missing = false;
  for (const lr::cli::EnvDefault& e : lr::cli::kThreadingEnv)
    if (std::getenv(e.name) == nullptr) {
      setenv(e.name, e.value, 1);
      missing = true;
    }
  if (missing) execv("/proc/self/exe", argv);  // only returns on failure: carry on
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
    lr::cpu_path();  // reads LR_CPU here: a bad value is this one-line error, not a throw in a worker
    return lr::cli::run_selected(app);
  } catch (const lr::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
