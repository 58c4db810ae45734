#include "kernels/cpu/swiglu.h"

#include <cmath>

#include "core/threads.h"
#include "kernels/cpu/simd.h"

namespace lr {

void silu_mul(const float* gate, const float* up, float* out, size_t n) {
  // Prefill calls this on T x intermediate values (2.5 M at T = 512): a scalar exp per
  // element took longer than the matmuls around it, so vector exp and both threads.
  parallel_for(
      long(n),
      [&](long b, long e) {
        long i = b;
#if LR_HAVE_AVX2
        const __m256 one = _mm256_set1_ps(1.f);
        for (; i + 8 <= e; i += 8) {
          const __m256 g = _mm256_loadu_ps(gate + i);
          const __m256 ex = simd::exp256(_mm256_sub_ps(_mm256_setzero_ps(), g));
          const __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, ex));
          _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
        }
#endif
        for (; i < e; ++i) {
          const float g = gate[i];
          out[i] = g / (1.f + std::exp(-g)) * up[i];
        }
      },
      n >= (size_t(1) << 15),
      // Training's whole-batch calls (milliseconds) stay out of the pool's back-off.
      /*bulk=*/n >= (size_t(1) << 22));
}

}  // namespace lr
