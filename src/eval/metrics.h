#pragma once
// Pure functions behind the evaluation report (DESIGN.md §4): FLOPs counts, perplexity,
// correlations, skip statistics and the flip rate against a bias-only router.
#include <cstdint>
#include <vector>

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

// Full forward FLOPs (every matmul, 2 FLOPs per multiply-add; elementwise work such as norms,
// RoPE, softmax and SwiGLU is left out) over T tokens:
//   block  = 2TH(n_q d) + 4TH(n_kv d) + 2T(n_q d)H + 6THI       projections and MLP
//          + 2T^2(n_q d) + 2T^2(n_q d)                          scores and attention.V, dense
//          + sum over LoRA targets of 2T r (in + out)          when lora is given
//   router = TH + 2H per block, every block (pooling sum + the dot product; it runs whether
//            or not the block does)                             when routed
//   head   = 2THV                                               logits at every position
struct ForwardFlops {
  int64_t blocks = 0, lora = 0, routers = 0, head = 0;
  int64_t total() const { return blocks + lora + routers + head; }
};
int64_t block_matmul_flops(const ModelConfig& c, int64_t T);
int64_t lora_block_flops(const ModelConfig& c, const LoraConfig& lora, int64_t T);
int64_t router_flops(const ModelConfig& c, int64_t T);
// blocks_run of the L blocks do work; lora may be nullptr (none); routed adds the routers.
ForwardFlops full_forward_flops(const ModelConfig& c, int64_t T, int blocks_run,
                                const LoraConfig* lora, bool routed);

// exp(mean token cross-entropy); ce_sum over n_targets tokens. NaN when n_targets == 0.
double perplexity(double ce_sum, long n_targets);
double perplexity(double mean_ce);

// Pearson's r. NaN when the lengths differ, n < 2, or either side has zero variance (r is
// undefined there; reports print "n/a" rather than a made-up 0).
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Point-biserial r of x against a binary label (1 = true): Pearson with the label as 0/1.
double point_biserial(const std::vector<double>& x, const std::vector<bool>& label);

// 100 * (1 - mean_blocks_run / n_layers).
double skip_pct(double mean_blocks_run, int n_layers);
// Skip differential in points: tool_call skip % minus planning skip %.
inline double skip_differential(double tool_skip_pct, double planning_skip_pct) {
  return tool_skip_pct - planning_skip_pct;
}

// sigmoid in double, and its inverse for a float soft gate (the pre-sigmoid score). A float
// sigmoid rounds to 1 above z ~ 16.6: logit_of_soft clamps s to [FLT_TRUE_MIN, 1 - 2^-24],
// so +16.64 reads "at least 16.64".
double sigmoid(double z);
double logit_of_soft(float s);

// Share of (sample, block) decisions where the router's hard gate differs from what a
// bias-only router (w = 0, same b) decides: open iff sigmoid(b) > threshold, evaluated in
// float as TrainGraph does. hard is sample-major [n * L] with values 0/1. NaN when empty.
double flip_rate(const std::vector<float>& hard, const std::vector<float>& bias, float threshold);
bool bias_only_open(float bias, float threshold);

// Mean and sample standard deviation (n - 1); std is NaN for n < 2, mean NaN for n == 0.
double mean_of(const std::vector<double>& v);
double sample_std(const std::vector<double>& v);

}  // namespace lr::eval
