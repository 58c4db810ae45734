#pragma once
// Internal helpers shared by the op files.
#include <omp.h>

namespace lr::ops {

// Runs f(j0, j1) on a static partition of [0, n) across the team: each column's reduction
// then runs in a fixed order, independent of scheduling.
template <typename F>
void parallel_ranges(long n, F&& f) {
#pragma omp parallel
  {
    const long nt = omp_get_num_threads(), id = omp_get_thread_num();
    const long j0 = n * id / nt, j1 = n * (id + 1) / nt;
    if (j0 < j1) f(j0, j1);
  }
}

}  // namespace lr::ops
