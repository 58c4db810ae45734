#include "kernels/cpu/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/cpu/attention_avx512.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/softmax.h"

namespace lr {

namespace {

// Keys per tile: the tile's scores and keys stay in L1.
constexpr int kKT = kKVTile;
// Rows (query x head) per work item: the q heads of one kv head share every key tile, so
// a tile of K/V is loaded once for ~kRows rows of scores (small GEMMs instead of dots).
constexpr int kRows = 48;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Scratch {
  std::vector<float> qs, s, o, m, l;
  std::vector<int> lim;  // per row: last key position it may see
};

#if LR_HAVE_AVX2
// NR rows of scores, 16 keys at a time: 2 * NR independent FMA chains (NR <= 4 keeps the
// accumulators and the two key vectors in registers).
template <int NR>
inline void scores_rows(const float* qs, const float* kt, int d, int ntp, float* s) {
  for (int j = 0; j < ntp; j += 16) {
    __m256 a[NR][2];
    for (int i = 0; i < NR; ++i) a[i][0] = a[i][1] = _mm256_setzero_ps();
    for (int c = 0; c < d; ++c) {
      const __m256 k0 = _mm256_loadu_ps(kt + size_t(c) * kKT + j);
      const __m256 k1 = _mm256_loadu_ps(kt + size_t(c) * kKT + j + 8);
      for (int i = 0; i < NR; ++i) {
        const __m256 q = _mm256_broadcast_ss(qs + size_t(i) * d + c);
        a[i][0] = _mm256_fmadd_ps(q, k0, a[i][0]);
        a[i][1] = _mm256_fmadd_ps(q, k1, a[i][1]);
      }
    }
    for (int i = 0; i < NR; ++i) {
      _mm256_storeu_ps(s + size_t(i) * kKT + j, a[i][0]);
      _mm256_storeu_ps(s + size_t(i) * kKT + j + 8, a[i][1]);
    }
  }
}

// NR rows of o += p v, 8 columns at a time: NR independent FMA chains per v load. A decode
// step's 7 q heads per kv head go in one block; one row at a time (a single chain, bound
// by the FMA latency) made the 3 rows left after a 4-block cost more than the 4 (same sums
// in the same order either way).
template <int NR>
inline void pv_rows(const float* p, const float* v, size_t vs, int d, int nt, float* o) {
  for (int c = 0; c < d; c += 8) {
    __m256 a[NR];
    for (int i = 0; i < NR; ++i) a[i] = _mm256_loadu_ps(o + size_t(i) * d + c);
    for (int j = 0; j < nt; ++j) {
      const __m256 vv = _mm256_loadu_ps(v + j * vs + c);
      for (int i = 0; i < NR; ++i)
        a[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(p + size_t(i) * kKT + j), vv, a[i]);
    }
    for (int i = 0; i < NR; ++i) _mm256_storeu_ps(o + size_t(i) * d + c, a[i]);
  }
}

// The same sums over 16 columns at a time: per value row, 2 loads + NR broadcasts feed
// 2 * NR FMAs (the 8-column kernel: 1 + NR loads for NR). Each output still adds p[j] v[j]
// in j order onto its loaded value, so results are bit-identical to pv_rows.
template <int NR>
inline void pv_rows16(const float* p, const float* v, size_t vs, int d, int nt, float* o) {
  for (int c = 0; c < d; c += 16) {
    __m256 a[NR][2];
    for (int i = 0; i < NR; ++i) {
      a[i][0] = _mm256_loadu_ps(o + size_t(i) * d + c);
      a[i][1] = _mm256_loadu_ps(o + size_t(i) * d + c + 8);
    }
    for (int j = 0; j < nt; ++j) {
      const __m256 v0 = _mm256_loadu_ps(v + j * vs + c), v1 = _mm256_loadu_ps(v + j * vs + c + 8);
      for (int i = 0; i < NR; ++i) {
        const __m256 pj = _mm256_broadcast_ss(p + size_t(i) * kKT + j);
        a[i][0] = _mm256_fmadd_ps(pj, v0, a[i][0]);
        a[i][1] = _mm256_fmadd_ps(pj, v1, a[i][1]);
      }
    }
    for (int i = 0; i < NR; ++i) {
      _mm256_storeu_ps(o + size_t(i) * d + c, a[i][0]);
      _mm256_storeu_ps(o + size_t(i) * d + c + 8, a[i][1]);
    }
  }
}
#endif

// s[r][j] = qs[r] . kt[:, j] for r < R, j < ntp (a multiple of 16 when vectorised).
// wide: the AVX-512 tiles (same per-lane sums, 16 lanes).
void scores(const float* qs, const float* kt, int R, int d, int ntp, float* s, bool wide) {
  if (wide && ntp % 16 == 0) return attn_scores_avx512(qs, kt, R, d, ntp, s);
  int r = 0;
#if LR_HAVE_AVX2
  if (ntp % 16 == 0) {
    for (; r + 4 <= R; r += 4) scores_rows<4>(qs + size_t(r) * d, kt, d, ntp, s + size_t(r) * kKT);
    const float* q = qs + size_t(r) * d;
    float* sr = s + size_t(r) * kKT;
    switch (R - r) {  // the 1-3 rows left (a decode step of 7 q heads per kv head leaves 3)
      case 3:
        scores_rows<3>(q, kt, d, ntp, sr);
        break;
      case 2:
        scores_rows<2>(q, kt, d, ntp, sr);
        break;
      case 1:
        scores_rows<1>(q, kt, d, ntp, sr);
        break;
      default:
        break;
    }
    r = R;
  }
#endif
  for (; r < R; ++r)
    for (int j = 0; j < ntp; ++j) {
      float acc = 0.f;
      for (int c = 0; c < d; ++c) acc += qs[size_t(r) * d + c] * kt[size_t(c) * kKT + j];
      s[size_t(r) * kKT + j] = acc;
    }
}

// o[r] += sum_j p[r][j] v[j] for r < R, j < nt (v rows have stride vs).
void accumulate_pv(const float* p, const float* v, size_t vs, int R, int d, int nt, float* o,
                   bool wide) {
  if (wide && d % 16 == 0) return attn_pv_avx512(p, v, vs, R, d, nt, o);
  int r = 0;
#if LR_HAVE_AVX2
  if (d % 16 == 0) {
    for (; r + 4 <= R; r += 4) pv_rows16<4>(p + size_t(r) * kKT, v, vs, d, nt, o + size_t(r) * d);
    const float* pr = p + size_t(r) * kKT;
    float* orr = o + size_t(r) * d;
    switch (R - r) {  // the 1-3 rows left (a decode step of 7 q heads per kv head leaves 3)
      case 3:
        pv_rows16<3>(pr, v, vs, d, nt, orr);
        break;
      case 2:
        pv_rows16<2>(pr, v, vs, d, nt, orr);
        break;
      case 1:
        pv_rows16<1>(pr, v, vs, d, nt, orr);
        break;
      default:
        break;
    }
    r = R;
  }
  if (d % 8 == 0) {
    for (; r + 8 <= R; r += 8) pv_rows<8>(p + size_t(r) * kKT, v, vs, d, nt, o + size_t(r) * d);
    const float* pr = p + size_t(r) * kKT;
    float* orr = o + size_t(r) * d;
    switch (R - r) {
      case 7:
        pv_rows<7>(pr, v, vs, d, nt, orr);
        break;
      case 6:
        pv_rows<6>(pr, v, vs, d, nt, orr);
        break;
      case 5:
        pv_rows<5>(pr, v, vs, d, nt, orr);
        break;
      case 4:
        pv_rows<4>(pr, v, vs, d, nt, orr);
        break;
      case 3:
        pv_rows<3>(pr, v, vs, d, nt, orr);
        break;
      case 2:
        pv_rows<2>(pr, v, vs, d, nt, orr);
        break;
      case 1:
        pv_rows<1>(pr, v, vs, d, nt, orr);
        break;
      default:
        break;
    }
    r = R;
  }
#endif
  for (; r < R; ++r)
    for (int j = 0; j < nt; ++j) {
      const float pj = p[size_t(r) * kKT + j];
      if (pj != 0.f)
        for (int c = 0; c < d; ++c) o[size_t(r) * d + c] += pj * v[j * vs + c];
    }
}

// s[j] = exp(s[j] - m) for j < n, 0 up to ntp; returns the sum.
float exp_tile(float* s, int n, int ntp, float m) {
  int j = 0;
  float sum = 0.f;
#if LR_HAVE_AVX2
  const __m256 vm = _mm256_set1_ps(m);
  __m256 vsum = _mm256_setzero_ps();
  for (; j + 8 <= n; j += 8) {
    const __m256 p = simd::exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    _mm256_storeu_ps(s + j, p);
    vsum = _mm256_add_ps(vsum, p);
  }
  sum = simd::hsum(vsum);
#endif
  for (; j < n; ++j) sum += (s[j] = std::exp(s[j] - m));
  for (; j < ntp; ++j) s[j] = 0.f;
  return sum;
}

// Online-softmax update of row state (m, l, o) with one tile of scores s (valid j < n).
// Leaves p = exp(s - m_new) (0 where masked) in s.
void softmax_tile(float* s, int n, int ntp, float& m, float& l, float* o, int d, bool wide) {
  const float mt = row_max(s, n);
  const float m_new = std::max(m, mt);
  const float corr = std::exp(m - m_new);  // exactly 0 on the first tile (m = -inf)
  const float sum =
      wide && ntp % 16 == 0 ? attn_exp_tile_avx512(s, n, ntp, m_new) : exp_tile(s, n, ntp, m_new);
  l = l * corr + sum;
  if (corr != 1.f)
    for (int c = 0; c < d; ++c) o[c] *= corr;
  m = m_new;
}

// Asks for a key tile (all of it: keys are transposed, so even a partial tile spans the
// whole [d][kKT] block) and its first nt value rows (d floats each) to be brought into cache.
void prefetch_tile(const float* kt, const float* v, int d, int nt) {
#if LR_HAVE_AVX2
  for (size_t i = 0; i < size_t(kKT) * d; i += 16)
    _mm_prefetch(reinterpret_cast<const char*>(kt + i), _MM_HINT_T0);
  for (size_t i = 0; i < size_t(nt) * d; i += 16)
    _mm_prefetch(reinterpret_cast<const char*>(v + i), _MM_HINT_T0);
#else
  (void)kt, (void)v, (void)d, (void)nt;
#endif
}

}  // namespace

void kv_store(float* K, float* V, int cap, int n_kv, int d, int p, const float* k, const float* v) {
  for (int g = 0; g < n_kv; ++g) {
    float* kt = K + (size_t(g) * cap + size_t(p / kKT) * kKT) * d + p % kKT;
    for (int c = 0; c < d; ++c) kt[size_t(c) * kKT] = k[size_t(g) * d + c];
    std::copy(v + size_t(g) * d, v + size_t(g + 1) * d, V + (size_t(g) * cap + p) * d);
  }
}

void kv_load(const float* K, const float* V, int cap, int n_kv, int d, int p, float* k, float* v) {
  for (int g = 0; g < n_kv; ++g) {
    const float* kt = K + (size_t(g) * cap + size_t(p / kKT) * kKT) * d + p % kKT;
    for (int c = 0; c < d; ++c) k[size_t(g) * d + c] = kt[size_t(c) * kKT];
    std::copy(V + (size_t(g) * cap + p) * d, V + (size_t(g) * cap + p + 1) * d, v + size_t(g) * d);
  }
}

void attention_causal(const float* q, int T_new, const int* pos, const float* K, const float* V,
                      int cap, int n_q, int n_kv, int d, float* out, float* lse, long lse_stride) {
  LR_CHECK(d > 0 && d <= kMaxHeadDim, "attention: head_dim ", d, " unsupported");
  LR_CHECK(cap > 0 && cap % kKT == 0, "attention: cache of ", cap, " positions is not whole tiles");
  LR_CHECK(n_kv > 0 && n_q % n_kv == 0, "attention: ", n_q, " q heads not a multiple of ", n_kv,
           " kv heads");
  if (T_new <= 0) return;
  const int group = n_q / n_kv;
  const int q_stride = n_q * d;
  const float scale = float(1.0 / std::sqrt(double(d)));
  // Work item: (kv head, tile of qt consecutive queries) -> qt * group rows.
  const int qt = std::max(1, std::min(T_new, kRows / group));
  const int n_tiles = (T_new + qt - 1) / qt;
  const long items = long(n_tiles) * n_kv;
  int max_pos = 0;
  for (int i = 0; i < T_new; ++i) max_pos = std::max(max_pos, pos[i]);
  LR_CHECK(max_pos < cap, "attention: position ", max_pos, " outside the cache of ", cap);
  const bool wide = cpu_path() >= CpuPath::Avx512;
  // Threads only pay off past a few tens of thousands of multiply-adds.
  const long work = long(T_new) * n_q * (max_pos + 1) * d;
  std::atomic<long> next{0};

  auto run = [&] {
    thread_local Scratch sc;
    const int R = qt * group;
    sc.qs.resize(size_t(R) * d);
    sc.s.resize(size_t(R) * kKT);
    sc.o.resize(size_t(R) * d);
    sc.m.resize(R);
    sc.l.resize(R);
    sc.lim.resize(R);
    // Items handed out from the last (longest causal rows) down, so the short ones fill
    // the gaps at the end.
    for (long it; (it = next.fetch_add(1, std::memory_order_relaxed)) < items;) {
      const long rit = items - 1 - it;
      const int tile = int(rit / n_kv), g = int(rit % n_kv);
      const int i0 = tile * qt, nq = std::min(qt, T_new - i0);
      const int rows = nq * group;
      int kmax = 0;
      for (int a = 0; a < nq; ++a)
        for (int hh = 0; hh < group; ++hh) {
          const int r = a * group + hh;
          const float* src = q + size_t(i0 + a) * q_stride + size_t(g * group + hh) * d;
          for (int c = 0; c < d; ++c) sc.qs[size_t(r) * d + c] = src[c] * scale;
          sc.lim[r] = pos[i0 + a];
          sc.m[r] = kNegInf;
          sc.l[r] = 0.f;
          std::fill(sc.o.begin() + size_t(r) * d, sc.o.begin() + size_t(r + 1) * d, 0.f);
        }
      for (int a = 0; a < nq; ++a) kmax = std::max(kmax, pos[i0 + a]);
      const float* kh = K + size_t(g) * cap * d;  // head g's key tiles, then
      const float* vh = V + size_t(g) * cap * d;  // its value rows
      for (int t0 = 0; t0 <= kmax; t0 += kKT) {
        const int nt = std::min(kKT, kmax + 1 - t0);
        // Columns nt..ntp-1 of a last partial tile are scored too (not yet written): their
        // scores are dropped by softmax_tile, which zeroes p past each row's limit.
        const int ntp = (nt + 15) / 16 * 16;
        // Decoding finds K/V cold (the weights' stream evicts them): fetch the next tile's
        // keys and values while this one computes.
        if (t0 + kKT <= kmax)
          prefetch_tile(kh + size_t(t0 + kKT) * d, vh + size_t(t0 + kKT) * d, d,
                        std::min(kKT, kmax + 1 - (t0 + kKT)));
        scores(sc.qs.data(), kh + size_t(t0) * d, rows, d, ntp, sc.s.data(), wide);
        for (int r = 0; r < rows; ++r) {
          const int n = std::min(nt, std::max(0, sc.lim[r] - t0 + 1));
          float* sr = sc.s.data() + size_t(r) * kKT;
          if (n == 0) {
            std::fill(sr, sr + ntp, 0.f);
            continue;
          }
          softmax_tile(sr, n, ntp, sc.m[r], sc.l[r], sc.o.data() + size_t(r) * d, d, wide);
        }
        accumulate_pv(sc.s.data(), vh + size_t(t0) * d, size_t(d), rows, d, nt, sc.o.data(), wide);
      }
      for (int a = 0; a < nq; ++a)
        for (int hh = 0; hh < group; ++hh) {
          const int r = a * group + hh;
          float* dst = out + size_t(i0 + a) * q_stride + size_t(g * group + hh) * d;
          const float inv = 1.f / sc.l[r];
          for (int c = 0; c < d; ++c) dst[c] = sc.o[size_t(r) * d + c] * inv;
          // The scores were of the scaled q, so m is already in softmax units.
          if (lse) lse[long(g * group + hh) * lse_stride + i0 + a] = sc.m[r] + std::log(sc.l[r]);
        }
    }
  };
  // A call of millions of multiply-adds (a prefill, a training row) is a bulk call: it
  // neither feeds nor follows the pool's back-off, which is for decode's many short calls.
  if (work >= (1L << 15) && items > 1)
    parallel(run, /*bulk=*/work >= (1L << 24));
  else
    run();
}

}  // namespace lr
