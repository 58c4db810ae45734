#pragma once
// One place decides how many threads compute uses. OpenMP drives our kernels and
// OpenBLAS (pthreads build) its GEMMs; they run one after the other, never nested,
// so both may use all cores without fighting.
namespace lr {

// n <= 0 picks the number of online cores.
void set_num_threads(int n);
int num_threads();

}  // namespace lr
