#pragma once
// The AVX-512F tiles of attention_causal (attention.cpp): the same sums as its AVX2
// tiles, each lane adding in the same order, over 16-float vectors. Call only where
// cpu_path() >= CpuPath::Avx512. Layouts: scores s and probabilities p rows kKVTile
// apart, keys of a tile transposed [d][kKVTile], values rows vs apart, outputs o rows d
// apart.
#include <cstddef>

namespace lr {

// s[r][j] = qs[r] . kt[:, j] for r < R, j < ntp (ntp a multiple of 16).
void attn_scores_avx512(const float* qs, const float* kt, int R, int d, int ntp, float* s);

// o[r] += sum_{j < nt} p[r][j] v[j] for r < R (d a multiple of 16).
void attn_pv_avx512(const float* p, const float* v, size_t vs, int R, int d, int nt, float* o);

// s[j] = exp(s[j] - m) for j < n and 0 for n <= j < ntp (a multiple of 16); returns the
// sum of s[0, n).
float attn_exp_tile_avx512(float* s, int n, int ntp, float m);

}  // namespace lr
