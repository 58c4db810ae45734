#pragma once
// Causal grouped-query attention of new queries over a KV cache, with a streaming
// (online) softmax over key tiles so no T x T score matrix is ever formed.
namespace lr {

// Longest head_dim the kernel accepts (its accumulator lives on the stack).
constexpr int kMaxHeadDim = 256;

// q   [T_new, n_q*d]   queries of the new positions (RoPE applied)
// pos [T_new]          their positions; query i attends cache rows 0..pos[i] (row = position)
// K,V [>= max pos + 1, n_kv*d]  the cache of this layer, rows filled up to max pos
// out [T_new, n_q*d]   softmax(q k^T / sqrt(d)) v per head; q head h uses kv head
//                      h / (n_q / n_kv).
// Tiled: the q heads sharing a kv head are scored against one key tile at a time (small
// GEMMs), spread over our threads; nests serially inside a parallel region.
void attention_causal(const float* q, int T_new, const int* pos, const float* K, const float* V,
                      int n_q, int n_kv, int d, float* out);

}  // namespace lr
