// The one main() of lr_microbench; benchmark files only register benchmarks.
#include <benchmark/benchmark.h>

#include "core/threads.h"

int main(int argc, char** argv) {
  lr::num_threads();  // OpenMP + OpenBLAS thread counts set once, before any kernel runs
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
