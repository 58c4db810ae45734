#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

extern "C" void openblas_set_num_threads(int);

namespace lr {

namespace {
int g_threads = 0;  // 0: not set yet
}

void set_num_threads(int n) {
  if (n <= 0) n = int(sysconf(_SC_NPROCESSORS_ONLN));
  if (n <= 0) n = 1;
  g_threads = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() {
  if (g_threads == 0) set_num_threads(0);
  return g_threads;
}

}  // namespace lr
