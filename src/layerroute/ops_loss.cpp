// LM head fused with cross-entropy: logits exist only for one chunk of target rows.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/softmax.h"
#include "layerroute/ops.h"
#include "layerroute/ops_simd.h"
#include "layerroute/ops_util.h"

namespace lr::ops {

namespace {

// x[j] = exp(x[j] - sub), kept for the gradient; returns the sum, accumulated in float
// lanes over blocks of 1024 and across blocks in double.
double exp_sub_sum(float* x, int n, float sub) {
  double sum = 0;
  for (int j0 = 0; j0 < n; j0 += 1024)
    sum += simd::exp_sub_sum(x + j0, std::min(n - j0, 1024), sub);
  return sum;
}

}  // namespace

double lm_head_ce(const float* hf, int H, const float* E, int V, const int32_t* pos,
                  const int32_t* tgt, long n, float gscale, float* dhf, float* dE, int chunk,
                  float* x_buf, float* dx_buf, float* logits, double* row_loss, FrozenMatmul mm) {
  if (dE) mm = FrozenMatmul::F32;  // a trained head stays exact
  double total = 0;
  for (long c0 = 0; c0 < n; c0 += chunk) {
    const int C = int(n - c0 < chunk ? n - c0 : chunk);
    for (int i = 0; i < C; ++i)
      std::memcpy(x_buf + long(i) * H, hf + long(pos[c0 + i]) * H, sizeof(float) * size_t(H));
    frozen_matmul(x_buf, C, H, V, E, false, logits, mm);
    parallel_each(C, [&](long i) {
      float* lg = logits + long(i) * V;
      const float mx = row_max(lg, V);
      const int t = tgt[c0 + i];
      const float target_logit = lg[t];
      const double sum = exp_sub_sum(lg, V, mx);
      row_loss[i] = std::log(sum) - double(target_logit - mx);
      if (dhf) {
        const float k = float(double(gscale) / sum);
        for (int j = 0; j < V; ++j) lg[j] *= k;
        lg[t] -= gscale;
      }
    });
    for (int i = 0; i < C; ++i) total += row_loss[i];  // fixed order
    if (!dhf) continue;
    frozen_matmul_dx(logits, C, H, V, E, false, dx_buf, mm);
    for (int i = 0; i < C; ++i) {
      float* d = dhf + long(pos[c0 + i]) * H;
      const float* s = dx_buf + long(i) * H;
      for (int j = 0; j < H; ++j) d[j] += s[j];
    }
    if (dE)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, H, C, 1.f, logits, V, x_buf, H, 1.f,
                  dE, H);
  }
  return total;
}

}  // namespace lr::ops
