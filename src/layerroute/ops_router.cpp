// The router and the straight-through gate as an op pair each, like every other op.
#include <algorithm>

#include "layerroute/ops.h"
#include "layerroute/ops_util.h"

namespace lr::ops {

namespace {
int pooled_count(const uint8_t* mk, bool masked, int T) {
  int cnt = 0;
  for (int t = 0; t < T; ++t) cnt += (!masked || mk[t]) ? 1 : 0;
  return std::max(cnt, 1);
}
}  // namespace

void router_fwd(const float* h, const uint8_t* mask, bool masked, int rows, int T, int H,
                const float* w, float b, float* pool, double* z) {
  for (int r = 0; r < rows; ++r) {
    const uint8_t* mk = mask + long(r) * T;
    const float* hr = h + long(r) * T * H;
    float* p = pool + long(r) * H;
    const float inv = 1.f / float(pooled_count(mk, masked, T));
    parallel_ranges(H, [&](long j0, long j1) {
      for (long j = j0; j < j1; ++j) p[j] = 0.f;
      for (int t = 0; t < T; ++t)
        if (!masked || mk[t])
          for (long j = j0; j < j1; ++j) p[j] += hr[long(t) * H + j];
      for (long j = j0; j < j1; ++j) p[j] *= inv;
    });
    double zr = b;
    for (int j = 0; j < H; ++j) zr += double(w[j]) * p[j];
    z[r] = zr;
  }
}

void router_bwd(const float* pool, const uint8_t* mask, bool masked, int rows, int T, int H,
                const float* w, const float* dz, float* dh, float* dw, float* db) {
  for (int r = 0; r < rows; ++r) {
    const float g = dz[r];
    *db += g;
    const float* p = pool + long(r) * H;
    for (int j = 0; j < H; ++j) dw[j] += g * p[j];
    const uint8_t* mk = mask + long(r) * T;
    const float coef = g / float(pooled_count(mk, masked, T));
    for (int t = 0; t < T; ++t) {
      if (masked && !mk[t]) continue;
      float* d = dh + (long(r) * T + t) * H;
      for (int j = 0; j < H; ++j) d[j] += coef * w[j];
    }
  }
}

void gate_fwd(const float* bout, const float* h, const float* g, int rows, int T, int H,
              float* out) {
  parallel_each(long(rows) * T, [&](long i) {
    const float gi = g[i / T];
    const float* bo = bout + i * H;
    const float* hi = h + i * H;
    float* o = out + i * H;
    for (int j = 0; j < H; ++j) o[j] = gi * bo[j] + (1.f - gi) * hi[j];
  });
}

void gate_bwd(const float* bout, const float* h, const float* g, int rows, int T, int H, float* d,
              float* dbout, double* dg, float* partial) {
  parallel_each(long(rows) * T, [&](long i) {
    float* dr = d + i * H;
    float* dbo = dbout + i * H;
    const float gi = g[i / T];
    if (dg) {
      const float* bo = bout + i * H;
      const float* hi = h + i * H;
      double s = 0;
      for (int j = 0; j < H; ++j) s += double(dr[j]) * (bo[j] - hi[j]);
      partial[i] = float(s);
    }
    for (int j = 0; j < H; ++j) {
      dbo[j] = gi * dr[j];
      dr[j] *= 1.f - gi;
    }
  });
  if (!dg) return;
  for (int r = 0; r < rows; ++r) {
    double s = 0;
    for (int t = 0; t < T; ++t) s += partial[long(r) * T + t];
    dg[r] = s;
  }
}

}  // namespace lr::ops
