#include "kernels/cpu/rmsnorm.h"

#include <cmath>

#include "core/threads.h"

namespace lr {

void rmsnorm(const float* x, const float* w, float* y, long T, int H, float eps, float* inv_rms) {
  parallel_for(
      T,
      [&](long t0, long t1) {
        for (long t = t0; t < t1; ++t) {
          const float* xr = x + size_t(t) * H;
          float* yr = y + size_t(t) * H;
          // Double accumulation: H is at most a few thousand, and it keeps the norm exact
          // enough that rounding here never dominates the comparison with references.
          double ss = 0.0;
          for (int i = 0; i < H; ++i) ss += double(xr[i]) * xr[i];
          const float inv = float(1.0 / std::sqrt(ss / H + eps));
          if (inv_rms) inv_rms[t] = inv;
          for (int i = 0; i < H; ++i) yr[i] = xr[i] * inv * w[i];
        }
      },
      T * H >= (1L << 15),
      // Training's whole-batch calls (milliseconds) stay out of the pool's back-off.
      /*bulk=*/T * H >= (1L << 20));
}

}  // namespace lr
