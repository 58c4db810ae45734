// q8 GEMV over 4-row panels with the scales inline (see gemv.h): one sequential stream per
// thread, and int8 x int16 integer madds instead of widening every weight to f32: fewer
// instructions per byte, so the kernel keeps up with memory (BM_gemv_q8_panels against
// BM_gemv_q8, the row-major kernel).
#include <cmath>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/gemv_avx512.h"
#include "kernels/cpu/gemv_rows.h"
#include "kernels/cpu/simd.h"

namespace lr {

namespace {

// The 4 scales at the head of a panel block (bf16 -> f32 is exact).
inline void block_scales(const uint8_t* blk, float s[4]) {
  uint16_t h[4];
  std::memcpy(h, blk, sizeof h);  // the stream is bytes; memcpy is the aliasing-safe load
  for (int j = 0; j < 4; ++j) s[j] = bf16_to_f32(h[j]);
}

inline const uint8_t* panel_block(const uint8_t* P, int n, int b, int K) {
  return P + (size_t(n / 4) * size_t(K / kQ8Block) + size_t(b)) * kQ8PanelBlockBytes;
}

// out[j] = row j of the panel . x, from the int16 x (xq, xs) of one activation row.
inline void dot_panel(const uint8_t* p, int nb, const int16_t* xq, const float* xs, float out[4]) {
#if LR_HAVE_AVX2
  // One accumulator for the 4 rows: lanes [r0 r1 r2 r3] for columns 0-3 of each 8 (low
  // half) and 4-7 (high half). The rows' int32 sums are folded with hadd (exact) before
  // the one conversion and FMA per block: ~30 instead of ~50 instructions per block, which
  // the kernel needs to keep up when memory is fast.
  __m256 acc = _mm256_setzero_ps();
  for (int b = 0; b < nb; ++b) {
    const uint8_t* blk = p + size_t(b) * kQ8PanelBlockBytes;
    for (int off = 0; off < int(kQ8PanelBlockBytes); off += 64)
      _mm_prefetch(reinterpret_cast<const char*>(blk) + kQ8PanelAheadBytes + off, _MM_HINT_NTA);
    // The 4 bf16 scales as f32: each 16-bit value becomes the high half of a 32-bit lane.
    const __m128 s4 = _mm_castsi128_ps(_mm_unpacklo_epi16(
        _mm_setzero_si128(), _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk))));
    const __m256 sc = _mm256_mul_ps(_mm256_set_m128(s4, s4), _mm256_broadcast_ss(xs + b));
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + kQ8Block * b));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + kQ8Block * b + 16));
    const uint8_t* q = blk + kQ8PanelScaleBytes;
    __m256i d[4];
    for (int j = 0; j < 4; ++j) {
      const __m128i* w = reinterpret_cast<const __m128i*>(q + kQ8Block * j);
      const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w));
      const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1));
      // Per lane |sum| <= 4 * 127 * 32767 < 2^31, and after the two hadds 4x that: exact.
      d[j] = _mm256_add_epi32(_mm256_madd_epi16(w0, x0), _mm256_madd_epi16(w1, x1));
    }
    const __m256i r =
        _mm256_hadd_epi32(_mm256_hadd_epi32(d[0], d[1]), _mm256_hadd_epi32(d[2], d[3]));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(r), sc, acc);
  }
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
#else
  for (int j = 0; j < 4; ++j) out[j] = 0.f;
  for (int b = 0; b < nb; ++b) {
    const uint8_t* blk = p + size_t(b) * kQ8PanelBlockBytes;
    float s[4];
    block_scales(blk, s);
    const int8_t* q = reinterpret_cast<const int8_t*>(blk + kQ8PanelScaleBytes);
    for (int j = 0; j < 4; ++j) {
      int32_t d = 0;
      for (int k = 0; k < kQ8Block; ++k) d += int32_t(q[kQ8Block * j + k]) * xq[kQ8Block * b + k];
      out[j] += float(d) * (s[j] * xs[b]);
    }
  }
#endif
}

}  // namespace

void pack_q8_panels(const int8_t* q, const float* scales, int N, int K, uint8_t* dst) {
  LR_CHECK(q8_panels_fit(N, K), "q8 panels: ", N, " x ", K, " is not 4 x 32 aligned");
  const int nb = K / kQ8Block;
  parallel_for(N / 4, [&](long p0, long p1) {
    for (long p = p0; p < p1; ++p)
      for (int b = 0; b < nb; ++b) {
        uint8_t* d = dst + (size_t(p) * nb + b) * kQ8PanelBlockBytes;
        for (int j = 0; j < 4; ++j) {
          const size_t row = size_t(4 * p + j);
          // quantize_q8's scales are bf16 values: the 2 bytes hold them exactly.
          const uint16_t h = f32_to_bf16(scales[row * nb + b]);
          std::memcpy(d + sizeof h * j, &h, sizeof h);
          std::memcpy(d + kQ8PanelScaleBytes + kQ8Block * j, q + row * K + size_t(kQ8Block) * b,
                      kQ8Block);
        }
      }
  });
}

void dequantize_q8_panels(const uint8_t* P, int n0, int n, int K, float* dst) {
  dequantize_q8_panel_cols(P, n0, n, K, 0, K, dst, K);
}

void dequantize_q8_panel_cols(const uint8_t* P, int n0, int n, int K, int k0, int kc, float* dst,
                              int ldd) {
  for (int r = 0; r < n; ++r) {
    const int row = n0 + r;
    float* d = dst + size_t(r) * ldd;
    for (int b = k0 / kQ8Block; b < (k0 + kc) / kQ8Block; ++b) {
      const uint8_t* blk = panel_block(P, row, b, K);
      float s4[4];
      block_scales(blk, s4);
      const float s = s4[row % 4];
      const int8_t* q =
          reinterpret_cast<const int8_t*>(blk + kQ8PanelScaleBytes) + kQ8Block * (row % 4);
      float* o = d + (kQ8Block * b - k0);
#if LR_HAVE_AVX2
      const __m256 sv = _mm256_set1_ps(s);
      for (int k = 0; k < kQ8Block; k += 8) {
        const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + k));
        _mm256_storeu_ps(o + k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)), sv));
      }
#else
      for (int k = 0; k < kQ8Block; ++k) o[k] = float(q[k]) * s;
#endif
    }
  }
}

void quantize_x_i16(const float* x, int K, int16_t* xq, float* xs) {
  const int nb = q8_blocks(K);
  for (int b = 0; b < nb; ++b) {
    const int k0 = b * kQ8Block, k1 = std::min(K, k0 + kQ8Block);
    // Full blocks are vectorised (max, then round), the short tail block is not; both
    // share the scale.
    const bool vec = LR_HAVE_AVX2 && k1 - k0 == kQ8Block;
    float amax = 0.f;
#if LR_HAVE_AVX2
    if (vec) {
      const __m256 sign = _mm256_set1_ps(-0.f);
      __m256 m = _mm256_setzero_ps();
      for (int i = 0; i < kQ8Block; i += 8)
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k0 + i)));
      __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      h = _mm_max_ps(h, _mm_movehl_ps(h, h));
      h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
      amax = _mm_cvtss_f32(h);
    }
#endif
    if (!vec)
      for (int k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(x[k]));
    const float s = amax / 32767.f;
    xs[b] = s;
    const float inv = s > 0.f ? 1.f / s : 0.f;
#if LR_HAVE_AVX2
    if (vec) {
      const __m256 vinv = _mm256_set1_ps(inv);
      for (int i = 0; i < kQ8Block; i += 16) {
        // cvtps rounds to nearest even under the default MXCSR, like nearbyint below.
        const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k0 + i), vinv));
        const __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k0 + i + 8), vinv));
        // packs interleaves 128-bit lanes; the permute puts them back in order.
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + k0 + i),
                            _mm256_permute4x64_epi64(_mm256_packs_epi32(a, c), 0xd8));
      }
      continue;
    }
#endif
    for (int k = k0; k < k1; ++k) xq[k] = int16_t(std::nearbyint(x[k] * inv));
  }
}

void gemv_q8_panels(const uint8_t* P, int N, int K, const float* bias, const float* x, int M,
                    float* y, bool accumulate) {
  const GemvOut out{P, N, bias, y, accumulate};
  gemv_q8_panels_many(&out, 1, K, x, M);
}

void gemv_q8_panels_many(const GemvOut* outs, int count, int K, const float* x, int M) {
  for (int i = 0; i < count; ++i)
    LR_CHECK(q8_panels_fit(outs[i].N, K), "q8 panels: ", outs[i].N, " x ", K,
             " is not 4 x 32 aligned");
  const int nb = K / kQ8Block;
  // Grow once to the largest M * K seen; decoding then allocates nothing.
  thread_local std::vector<int16_t> xq;
  thread_local std::vector<float> xs;
  if (xq.size() < size_t(M) * K) xq.resize(size_t(M) * K);
  if (xs.size() < size_t(M) * nb) xs.resize(size_t(M) * nb);
  for (int m = 0; m < M; ++m)
    quantize_x_i16(x + size_t(m) * K, K, xq.data() + size_t(m) * K, xs.data() + size_t(m) * nb);
  // Pointers, not the thread_locals: inside the lambda a worker would name its own.
  const int16_t* xqp = xq.data();
  const float* xsp = xs.data();
  const bool vnni = cpu_path() >= CpuPath::Avx512Bf16;
  auto rows = [&](const GemvOut& o, int n0, int n1) {
    const uint8_t* P = static_cast<const uint8_t*>(o.w);
    for (; n0 < n1; n0 += 4) {
      const uint8_t* p = panel_block(P, n0, 0, K);
      for (int m = 0; m < M; ++m) {
        float s[4];
        if (vnni)
          gemv_panel_dot_q8_vnni(p, nb, xqp + size_t(m) * K, xsp + size_t(m) * nb, s);
        else
          dot_panel(p, nb, xqp + size_t(m) * K, xsp + size_t(m) * nb, s);
        store_rows(o.y + size_t(m) * o.N, n0, 4, s, o.bias, o.accumulate);
      }
    }
  };
  for_rows_of_outputs(outs, count, long(K) * M, kQ8PanelBlockBytes * size_t(nb) / 4, rows);
}

}  // namespace lr
