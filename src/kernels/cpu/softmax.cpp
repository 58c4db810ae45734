#include "kernels/cpu/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/simd.h"

namespace lr {

float row_max(const float* x, int n) {
  float mx = -std::numeric_limits<float>::infinity();
  int j = 0;
#if LR_HAVE_AVX2
  if (n >= 8) {
    __m256 vm = _mm256_loadu_ps(x);
    for (j = 8; j + 8 <= n; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + j));
    mx = simd::hmax(vm);
  }
#endif
  for (; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  return mx;
}

void softmax(float* x, int rows, int n) {
  for (int r = 0; r < rows; ++r) {
    float* v = x + size_t(r) * n;
    const float mx = row_max(v, n);
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      v[i] = std::exp(v[i] - mx);
      sum += v[i];
    }
    const float inv = float(1.0 / sum);
    for (int i = 0; i < n; ++i) v[i] *= inv;
  }
}

}  // namespace lr
