#include "eval/flops.h"

namespace lr::eval {

int64_t paper_block_flops(const ModelConfig& c, int64_t T) {
  const int64_t H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate;
  return 2 * T * H * Q + 4 * T * H * K + 2 * T * T * Q + 2 * T * Q * H + 6 * T * H * I;
}

int64_t paper_block_flops_published_code(const ModelConfig& c, int64_t T) {
  return paper_block_flops(c, T) - 2 * T * T;
}

int64_t block_projection_flops(const ModelConfig& c, int64_t T) {
  const int64_t H = c.hidden, Q = c.q_dim(), K = c.kv_dim(), I = c.intermediate;
  return 2 * T * H * Q + 4 * T * H * K + 2 * T * Q * H + 6 * T * H * I;
}

int64_t attention_flops(const ModelConfig& c, int64_t T, AttentionPairs pairs) {
  const int64_t n = pairs == AttentionPairs::Dense ? T * T : T * (T + 1) / 2;
  return 4 * n * int64_t(c.q_dim());
}

int64_t lora_block_flops(const ModelConfig& c, const LoraConfig& lora, int64_t T) {
  int64_t f = 0;
  for (int t = 0; t < kNumLoraTargets; ++t) {
    if (!lora.has(LoraTarget(t))) continue;
    int in = 0, out = 0;
    lora_dims(c, LoraTarget(t), &in, &out);
    f += 2 * T * int64_t(lora.rank) * (int64_t(in) + int64_t(out));
  }
  return f;
}

int64_t router_flops(const ModelConfig& c, int64_t T) {
  return T * c.hidden + 2 * int64_t(c.hidden);
}

int64_t head_flops(const ModelConfig& c, int64_t positions) {
  return 2 * positions * int64_t(c.hidden) * int64_t(c.vocab);
}

int64_t block_matmul_flops(const ModelConfig& c, int64_t T) {
  return block_projection_flops(c, T) + attention_flops(c, T, AttentionPairs::Dense);
}

ForwardFlops full_forward_flops(const ModelConfig& c, int64_t T, int blocks_run,
                                const LoraConfig* lora, bool routed) {
  ForwardFlops f;
  f.blocks = blocks_run * block_matmul_flops(c, T);
  if (lora && lora->rank > 0) f.lora = blocks_run * lora_block_flops(c, *lora, T);
  if (routed) f.routers = int64_t(c.n_layers) * router_flops(c, T);
  f.head = head_flops(c, T);
  return f;
}

double cached_prefill_flops(const ModelConfig& c, int64_t T, double blocks_run) {
  const double block =
      double(block_projection_flops(c, T) + attention_flops(c, T, AttentionPairs::Causal));
  return blocks_run * block + double(head_flops(c, 1));
}

double train_step_flops_per_token(const ModelConfig& c, const LoraConfig& lora, int seq,
                                  double open_share) {
  const double T = seq;
  const double proj = double(block_projection_flops(c, 1));
  const double lora_f = double(lora_block_flops(c, lora, 1));
  const double attn = double(attention_flops(c, seq, AttentionPairs::Causal)) / T;
  const double fwd = proj + lora_f + attn;
  // dx through the frozen weights costs a forward; LoRA needs dA, dB and dx; attention's
  // backward is 5 T x T products against the forward's 2.
  const double bwd = proj + 2 * lora_f + 2.5 * attn;
  const double head = 2 * double(head_flops(c, seq - 1)) / T;  // forward + dx
  return c.n_layers * (fwd + open_share * bwd) + head;
}

}  // namespace lr::eval
