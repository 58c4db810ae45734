#pragma once
// The FLOP model: every FLOP count in the project (eval's report, `bench`'s prefill and
// training figures) is built from these functions. Matmuls only, 2 FLOPs per multiply-add;
// elementwise work (norms, RoPE, softmax, SwiGLU) is left out.
#include <cstdint>

#include "layerroute/lora.h"
#include "model/config.h"

namespace lr::eval {

// The paper's block-only FLOPs of one transformer block over T tokens, exactly as DESIGN §4
// writes it (matmuls only, attention scores counted densely, attention.V left out):
//   2TH(n_q d) + 4TH(n_kv d) + 2T^2(n_q d) + 2T(n_q d)H + 6THI
// Qwen2.5-0.5B, T = 512: 15,737,028,608 per block, 377,688,686,592 for 24 blocks, which is
// the figure the reference's printed report shows.
int64_t paper_block_flops(const ModelConfig& c, int64_t T);
// The same minus 2T^2 per block: DESIGN §4 says the reference's published code counts 2T^2
// less than its printed report; this reproduces 15,736,504,320 / 377,676,103,680.
int64_t paper_block_flops_published_code(const ModelConfig& c, int64_t T);

// The pieces of one block over T tokens:
//   projections and MLP  2TH(n_q d) + 4TH(n_kv d) + 2T(n_q d)H + 6THI
//   attention            4 (n_q d) per (query, key) pair: scores and attention.V. Dense
//                        counts T^2 pairs (the paper's convention, and eval's full forward);
//                        causal counts the T(T+1)/2 pairs a causal kernel computes.
//   LoRA                 sum over LoRA targets of 2T r (in + out)
//   router               TH + 2H (pooling sum + the dot product; it runs whether or not the
//                        block does)
int64_t block_projection_flops(const ModelConfig& c, int64_t T);
enum class AttentionPairs { Dense, Causal };
int64_t attention_flops(const ModelConfig& c, int64_t T, AttentionPairs pairs);
int64_t lora_block_flops(const ModelConfig& c, const LoraConfig& lora, int64_t T);
int64_t router_flops(const ModelConfig& c, int64_t T);
// The LM head over `positions` positions: 2 positions H V.
int64_t head_flops(const ModelConfig& c, int64_t positions);
// Projections and MLP plus dense attention: one block of eval's full forward.
int64_t block_matmul_flops(const ModelConfig& c, int64_t T);

// Full forward FLOPs over T tokens as eval reports them: blocks_run of the L blocks do work
// (dense attention), LoRA when lora is given (may be nullptr), every block's router when
// routed, and logits at every position.
struct ForwardFlops {
  int64_t blocks = 0, lora = 0, routers = 0, head = 0;
  int64_t total() const { return blocks + lora + routers + head; }
};
ForwardFlops full_forward_flops(const ModelConfig& c, int64_t T, int blocks_run,
                                const LoraConfig* lora, bool routed);

// What an inference prefill of T tokens into an empty KV cache computes, as `bench` counts
// it: blocks_run (a mean may be fractional) blocks of projections, MLP and causal attention,
// and the LM head on the last position only (the session computes no other logits).
double cached_prefill_flops(const ModelConfig& c, int64_t T, double blocks_run);

// FLOPs per token of one training step on sequences of `seq` tokens, every target predicted,
// LoRA as `lora` says: per block the forward (projections, LoRA, causal attention) and, scaled
// by open_share (1 = every gate open; closed gates skip their block's backward), the backward
// (input gradients through the frozen weights, LoRA dA/dB/dx, attention's 5 T x T products);
// the LM head's forward and input gradient over the seq - 1 targets.
double train_step_flops_per_token(const ModelConfig& c, const LoraConfig& lora, int seq,
                                  double open_share);

}  // namespace lr::eval
