// layerroute: a thin CLI over the library. Each subcommand lives in cli/cmd_*.cpp and
// registers itself in commands.h; errors become one line on stderr and exit code 1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  // OpenMP (our kernels) and OpenBLAS (its own pthreads) alternate on the same cores in
  // training. If OpenMP's idle threads spin they steal the cores BLAS needs (up to 2.8x
  // slower on 2 cores). OpenBLAS's idle workers in turn call sched_yield for 2^28 cycles
  // after each GEMM, through our kernels between GEMMs; 2^4 puts them to sleep at once
  // (training steps 7-8 % faster on 2 cores; waking them costs microseconds per GEMM of
  // milliseconds). Both libraries read these only at start-up, so set what the user has
  // not and re-exec once.
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
    return lr::cli::run_selected(app);
  } catch (const lr::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
