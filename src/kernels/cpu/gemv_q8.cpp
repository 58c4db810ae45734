// int8 weight-only GEMV: weights are widened int8 -> f32 in registers and multiplied with
// f32 activations; one multiply by the block's scale per kQ8Block weights.
#include <cmath>

#include "core/dtype.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/simd.h"

namespace lr {

static_assert(kQ8Block == 32, "the AVX2 loop below widens 32 weights per block");

void quantize_q8(const float* W, int N, int K, int8_t* q, float* scales) {
  const int nb = q8_blocks(K);
  parallel_for(N, [&](long n0, long n1) {
    for (long n = n0; n < n1; ++n)
      for (int b = 0; b < nb; ++b) {
        const int k0 = b * kQ8Block, k1 = std::min(K, k0 + kQ8Block);
        const float* w = W + size_t(n) * K;
        float amax = 0.f;
        for (int k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(w[k]));
        const float s = bf16_to_f32(f32_to_bf16(amax / 127.f));  // see gemv.h
        scales[size_t(n) * nb + b] = s;
        const float inv = s > 0.f ? 1.f / s : 0.f;
        for (int k = k0; k < k1; ++k) {
          const float r = std::nearbyint(w[k] * inv);
          q[size_t(n) * K + k] = int8_t(std::max(-127.f, std::min(127.f, r)));
        }
      }
  });
}

void dequantize_q8(const int8_t* q, const float* scales, int n0, int n, int K, float* dst) {
  const int nb = q8_blocks(K);
  for (int r = 0; r < n; ++r) {
    const int8_t* qr = q + size_t(n0 + r) * K;
    const float* sr = scales + size_t(n0 + r) * nb;
    float* d = dst + size_t(r) * K;
    for (int k = 0; k < K; ++k) d[k] = float(qr[k]) * sr[k / kQ8Block];
  }
}

namespace {

#if LR_HAVE_AVX2
inline __m256 widen8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
#endif

// Dot products of `cnt` (<= 4) consecutive rows with x.
void dot_rows_q8(const int8_t* w, const float* sc, int cnt, int K, const float* x, float* out) {
  const int nb = q8_blocks(K);
  int b = 0;
  float s[4] = {0.f, 0.f, 0.f, 0.f};
#if LR_HAVE_AVX2
  if (cnt == 4) {
    const int8_t* r[4] = {w, w + K, w + 2 * size_t(K), w + 3 * size_t(K)};
    const float* rs[4] = {sc, sc + nb, sc + 2 * nb, sc + 3 * nb};
    __m256 acc[4];
    for (int j = 0; j < 4; ++j) acc[j] = _mm256_setzero_ps();
    for (; (b + 1) * kQ8Block <= K; ++b) {
      const int k = b * kQ8Block;
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8),
                   x2 = _mm256_loadu_ps(x + k + 16), x3 = _mm256_loadu_ps(x + k + 24);
      for (int j = 0; j < 4; ++j) {
        const int8_t* p = r[j] + k;
        _mm_prefetch(prefetch_addr(r[j], k, 512, K), _MM_HINT_T0);
        __m256 t = _mm256_mul_ps(widen8(p), x0);
        t = _mm256_fmadd_ps(widen8(p + 8), x1, t);
        t = _mm256_fmadd_ps(widen8(p + 16), x2, t);
        t = _mm256_fmadd_ps(widen8(p + 24), x3, t);
        acc[j] = _mm256_fmadd_ps(t, _mm256_broadcast_ss(rs[j] + b), acc[j]);
      }
    }
    _mm_storeu_ps(s, simd::hsum4(acc[0], acc[1], acc[2], acc[3]));
  }
#endif
  for (int j = 0; j < cnt; ++j) {
    const int8_t* r = w + size_t(j) * K;
    const float* rs = sc + size_t(j) * nb;
    for (int bb = (cnt == 4 ? b : 0); bb < nb; ++bb) {
      const int k0 = bb * kQ8Block, k1 = std::min(K, k0 + kQ8Block);
      float t = 0.f;
      for (int k = k0; k < k1; ++k) t += float(r[k]) * x[k];
      s[j] += t * rs[bb];
    }
    out[j] = s[j];
  }
}

}  // namespace

void gemv_q8(const int8_t* q, const float* scales, int N, int K, const float* bias, const float* x,
             int M, float* y, bool accumulate) {
  const int nb = q8_blocks(K);
  auto rows = [&](int n0, int n1) {
    for (; n0 < n1; n0 += 4) {
      const int cnt = n1 - n0 < 4 ? n1 - n0 : 4;
      for (int m = 0; m < M; ++m) {
        float s[4];
        dot_rows_q8(q + size_t(n0) * K, scales + size_t(n0) * nb, cnt, K, x + size_t(m) * K, s);
        store_rows(y + size_t(m) * N, n0, cnt, s, bias, accumulate);
      }
    }
  };
  for_row_chunks(N, long(N) * K * M, size_t(K) + sizeof(float) * nb, rows);
}

}  // namespace lr
