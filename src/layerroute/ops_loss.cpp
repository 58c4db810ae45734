// LM head fused with cross-entropy: logits exist only for one chunk of target rows.
#include <cblas.h>

#include <cmath>
#include <cstring>

#include "layerroute/ops.h"

namespace lr::ops {

double lm_head_ce(const float* hf, int H, const float* E, int V, const int32_t* pos,
                  const int32_t* tgt, long n, float gscale, float* dhf, float* dE, int chunk,
                  float* x_buf, float* dx_buf, float* logits, double* row_loss) {
  double total = 0;
  for (long c0 = 0; c0 < n; c0 += chunk) {
    const int C = int(n - c0 < chunk ? n - c0 : chunk);
    for (int i = 0; i < C; ++i)
      std::memcpy(x_buf + long(i) * H, hf + long(pos[c0 + i]) * H, sizeof(float) * size_t(H));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, V, H, 1.f, x_buf, H, E, H, 0.f, logits,
                V);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < C; ++i) {
      float* lg = logits + long(i) * V;
      float mx = lg[0];
      for (int j = 1; j < V; ++j) mx = lg[j] > mx ? lg[j] : mx;
      const int t = tgt[c0 + i];
      const float target_logit = lg[t];
      // One float exp per logit, kept for the gradient; the sum runs in double.
      double sum = 0;
      for (int j = 0; j < V; ++j) {
        lg[j] = std::exp(lg[j] - mx);
        sum += lg[j];
      }
      row_loss[i] = std::log(sum) - double(target_logit - mx);
      if (dhf) {
        const float k = float(double(gscale) / sum);
        for (int j = 0; j < V; ++j) lg[j] *= k;
        lg[t] -= gscale;
      }
    }
    for (int i = 0; i < C; ++i) total += row_loss[i];  // fixed order
    if (!dhf) continue;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, H, V, 1.f, logits, V, E, H, 0.f,
                dx_buf, H);
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
