#pragma once
// Causal grouped-query attention of new queries over a KV cache, with a streaming
// (online) softmax over key tiles so no T x T score matrix is ever formed.
#include <cstddef>

namespace lr {

// Longest head_dim the kernel accepts (its accumulator lives on the stack).
constexpr int kMaxHeadDim = 256;

// The KV cache layout the kernel reads, for one layer of `cap` positions (a multiple of
// kKVTile). Keys of kv head g: tiles of kKVTile positions, each stored transposed [d][tile]
// (the score micro-kernel's operand as it is, so no read transposes it again); values of
// kv head g: rows [cap][d]. Each head's keys and values are contiguous, so a decode step
// streams them (row-major [pos][n_kv*d] would stride over the other heads, and decode
// finds them cold). Position p of head g, element c:
//   K[(g * cap + p / kKVTile * kKVTile) * d + c * kKVTile + p % kKVTile]
//   V[(g * cap + p) * d + c]
constexpr int kKVTile = 64;
inline int kv_capacity(int max_T) {
  return (max_T + kKVTile - 1) / kKVTile * kKVTile;
}
// Writes position p's keys k and values v ([n_kv * d] each, heads in order).
void kv_store(float* K, float* V, int cap, int n_kv, int d, int p, const float* k, const float* v);
// Reads them back (tests, checks).
void kv_load(const float* K, const float* V, int cap, int n_kv, int d, int p, float* k, float* v);

// q   [T_new, n_q*d]   queries of the new positions (RoPE applied)
// pos [T_new]          their positions; query i attends cache positions 0..pos[i]
// K,V                  the cache of this layer (layout above, `cap` positions), filled up to
//                      max pos
// out [T_new, n_q*d]   softmax(q k^T / sqrt(d)) v per head; q head h uses kv head
//                      h / (n_q / n_kv).
// lse (optional) [n_q heads, stride lse_stride]: lse[h * lse_stride + i] = log of the softmax
//                      normaliser, log sum_j exp(q_i k_j / sqrt(d)), which training keeps so
//                      its backward can recompute the probabilities.
// Tiled: the q heads sharing a kv head are scored against one key tile at a time (small
// GEMMs), spread over our threads; nests serially inside a parallel region. Training's
// attention op (layerroute/ops_attention.cpp) runs this same kernel, so both engines
// compute attention with the same sums in the same order.
void attention_causal(const float* q, int T_new, const int* pos, const float* K, const float* V,
                      int cap, int n_q, int n_kv, int d, float* out, float* lse = nullptr,
                      long lse_stride = 0);

}  // namespace lr
