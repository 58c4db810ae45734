// The bench library (eval/bench.h) without timing: the FLOP model it shares with eval, and
// the JSON it writes from a result struct.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eval/bench.h"
#include "eval/bench_train_child.h"
#include "eval/flops.h"
#include "flops_test_configs.h"

namespace lr::eval {
namespace {

using flopstest::qwen05b;
using flopstest::small;

TEST(EvalBenchFlops, PrefillByHand) {
  const ModelConfig c = small();
  // T 2: projections and MLP 64 + 64 + 64 + 144 = 336; causal attention 3 pairs * 4 * 4 = 48;
  // the LM head on the last position 2 * 4 * 10 = 80.
  EXPECT_EQ(block_projection_flops(c, 2), 336);
  EXPECT_EQ(attention_flops(c, 2, AttentionPairs::Causal), 48);
  EXPECT_EQ(attention_flops(c, 2, AttentionPairs::Dense), 64);
  EXPECT_EQ(head_flops(c, 1), 80);
  EXPECT_EQ(cached_prefill_flops(c, 2, 2), 2 * (336 + 48) + 80);
  EXPECT_EQ(cached_prefill_flops(c, 2, 1.5), 1.5 * (336 + 48) + 80);
}

TEST(EvalBenchFlops, PrefillIsEvalsFullForwardWithCausalAttentionAndOneHeadRow) {
  // The same blocks as eval's full forward (no LoRA, no routers), attention counted over the
  // pairs a causal kernel computes instead of densely, logits at the last position only.
  const ModelConfig c = qwen05b();
  for (int64_t T : {1, 128, 512}) {
    const ForwardFlops f = full_forward_flops(c, T, c.n_layers, nullptr, false);
    const int64_t dense_minus_causal = attention_flops(c, T, AttentionPairs::Dense) -
                                       attention_flops(c, T, AttentionPairs::Causal);
    EXPECT_EQ(dense_minus_causal, 4 * c.q_dim() * T * (T - 1) / 2) << T;
    EXPECT_EQ(cached_prefill_flops(c, T, c.n_layers),
              double(f.blocks - c.n_layers * dense_minus_causal + f.head / T))
        << T;
  }
  // Qwen2.5-0.5B, 512 tokens, 24 blocks: 24 * (15,267,266,560 + 470,679,552) + 272,269,312.
  EXPECT_EQ(cached_prefill_flops(c, 512, 24), 377982976000.0);
}

TEST(EvalBenchFlops, TrainingStepByHand) {
  const ModelConfig c = small();
  LoraConfig lc;
  lc.rank = 1;
  // Per token, T 2: forward 168 + LoRA 56 + attention 24 = 248; backward 168 + 2 * 56 +
  // 2.5 * 24 = 340; LM head forward + dx over 1 target of 2 tokens: 2 * 80 / 2 = 80.
  EXPECT_DOUBLE_EQ(train_step_flops_per_token(c, lc, 2, 1.0), 2 * (248 + 340) + 80);
  EXPECT_DOUBLE_EQ(train_step_flops_per_token(c, lc, 2, 0.5), 2 * (248 + 170) + 80);
  EXPECT_DOUBLE_EQ(train_step_flops_per_token(c, lc, 2, 0.0), 2 * 248 + 80);
  // The default recipe (LoRA r8 on q, k, v, o) on Qwen2.5-0.5B at 512 tokens.
  EXPECT_DOUBLE_EQ(train_step_flops_per_token(qwen05b(), LoraConfig{}, 512, 1.0), 2058490240.0);
}

BenchResult sample_result(bool routed, bool closes, bool training) {
  BenchResult r;
  r.limits.threads = 2, r.limits.mem_read_bytes_s = 40e9, r.limits.sgemm_flop_s = 200e9;
  r.limits.cpu = "avx512bf16 (test CPU)", r.limits.path = CpuPath::Avx512Bf16;
  r.limits.peak_fma_avx2_flop_s = 100e9, r.limits.peak_fma_avx512_flop_s = 200e9;
  r.limits.peak_bf16_flop_s = 400e9, r.limits.gemm_flop_s = 300e9;
  r.limits.gemm_kernel = "avx512bf16 bf16 12x32";
  r.env = Json{{"OMP_WAIT_POLICY", "PASSIVE"}};
  r.model_dir = "/m";
  r.weights = WeightsDType::BF16;
  r.load_s = 0.25;
  InferenceBench& b = r.inference;
  b.n_layers = 4;
  b.routed = routed;
  b.decode_tokens = 16, b.decode_prompt = 32;
  b.head_bytes = 1e6, b.block_bytes = 2e6, b.weight_bytes = 9e6;
  b.prefill_flops_all = {4e9, 16e9};
  const double blocks = closes ? 2 : 4;
  for (int i = 0; i < 2; ++i) {
    PrefillFigure& p = b.figures.prefill[size_t(i)];
    p.tokens = kBenchPrefillSizes[i];
    p.seconds = 0.5 * (i + 1);
    p.blocks_run = blocks;
    p.flops = b.prefill_flops_all[size_t(i)] * (closes ? 0.5 : 1.0);
    p.sgemm_beside = 100e9;
    b.open.prefill[size_t(i)] = p;
    b.open.prefill[size_t(i)].seconds = 2 * p.seconds;
  }
  b.figures.decode = {100, blocks, 250, closes ? "1010" : "1111"};
  b.open.decode = {80, 4, 200, ""};
  b.peak_rss = 123456;
  b.probes_bytes = 1000;
  r.with_training = training;
  if (training)
    for (const TrainShape s : kBenchTrainShapes)
      r.training.emplace_back(s.key(), Json{{"tok_s", 7}});
  return r;
}

std::vector<std::string> keys(const Json& j) {
  std::vector<std::string> k;
  for (const auto& [key, v] : j.items()) k.push_back(key);
  return k;
}

TEST(EvalBenchJson, KeysInOrderForAPlainRun) {
  const Json j = bench_json(sample_result(false, false, true));
  std::vector<std::string> want = {"threads",
                                   "env",
                                   "mem_read_gb_s",
                                   "sgemm_gflop_s",
                                   "cpu",
                                   "peak_fma_avx2_gflop_s",
                                   "peak_fma_avx512_gflop_s",
                                   "peak_bf16_dot_gflop_s",
                                   "gemm_kernel",
                                   "gemm_gflop_s",
                                   "model",
                                   "weights_dtype",
                                   "load_s"};
  for (const char* n : {"128", "512"})
    for (const char* k : {"_tok_s", "_gflop_s", "_share_of_sgemm", "_sgemm_beside_gflop_s",
                          "_share_of_sgemm_beside", "_share_of_peak", "_peak"})
      want.push_back(std::string("prefill_") + n + k);
  for (const char* k : {"decode_tok_s", "decode_after_prompt", "decode_weight_bytes_per_token",
                        "decode_ceiling_tok_s", "decode_share_of_bandwidth",
                        "decode_bandwidth_beside_gb_s", "decode_ceiling_beside_tok_s",
                        "decode_share_of_bandwidth_beside", "peak_rss_bytes", "training"})
    want.push_back(k);
  EXPECT_EQ(keys(j), want);
  EXPECT_EQ(keys(j["training"]), (std::vector<std::string>{"1x512", "4x128"}));
  EXPECT_EQ(j["training"]["4x128"]["tok_s"], 7);
  EXPECT_EQ(j["env"]["OMP_WAIT_POLICY"], "PASSIVE");
  EXPECT_FALSE(bench_json(sample_result(false, false, false)).contains("training"));
}

// A prefill's share is against the loop its GEMM runs: q8 weights take the bf16 kernel
// where the CPU has BF16, f32 weights never do.
TEST(EvalBenchJson, PrefillPeakFollowsTheKernelTheWeightsTake) {
  BenchLimits l;
  l.peak_fma_avx2_flop_s = 100, l.peak_fma_avx512_flop_s = 200, l.peak_bf16_flop_s = 400;
  l.path = CpuPath::Avx512Bf16;
  EXPECT_EQ(l.prefill_peak_flop_s(WeightsDType::BF16), 400);
  EXPECT_EQ(l.prefill_peak_flop_s(WeightsDType::Q8), 400);
  EXPECT_EQ(l.prefill_peak_flop_s(WeightsDType::F32), 200);
  EXPECT_STREQ(l.prefill_peak_name(WeightsDType::Q8), "bf16 dot (vdpbf16ps)");
  l.path = CpuPath::Avx512;
  EXPECT_EQ(l.prefill_peak_flop_s(WeightsDType::Q8), 200);
  l.path = CpuPath::Avx2;
  EXPECT_EQ(l.prefill_peak_flop_s(WeightsDType::BF16), 100);
  auto r = sample_result(false, false, false);
  r.weights = WeightsDType::Q8;
  EXPECT_EQ(bench_json(r)["prefill_128_peak"], "bf16 dot (vdpbf16ps)");
  r.weights = WeightsDType::F32;
  EXPECT_EQ(bench_json(r)["prefill_128_peak"], "fp32 FMA avx512");
}

TEST(EvalBenchJson, FiguresFollowFromTheStruct) {
  const Json j = bench_json(sample_result(false, false, false));
  EXPECT_EQ(j["threads"], 2);
  EXPECT_DOUBLE_EQ(j["mem_read_gb_s"].get<double>(), 40);
  EXPECT_DOUBLE_EQ(j["sgemm_gflop_s"].get<double>(), 200);
  EXPECT_EQ(j["model"], "/m");
  EXPECT_EQ(j["weights_dtype"], "bf16");
  // prefill 128: 0.5 s, 4 GFLOP -> 256 tok/s, 8 GFLOP/s, 4 % of 200, 8 % of the 100 beside.
  EXPECT_DOUBLE_EQ(j["prefill_128_tok_s"].get<double>(), 256);
  EXPECT_DOUBLE_EQ(j["prefill_128_gflop_s"].get<double>(), 8);
  EXPECT_DOUBLE_EQ(j["prefill_128_share_of_sgemm"].get<double>(), 0.04);
  EXPECT_DOUBLE_EQ(j["prefill_128_sgemm_beside_gflop_s"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(j["prefill_128_share_of_sgemm_beside"].get<double>(), 0.08);
  // bf16 weights on the avx512bf16 path: against the bf16 dot peak, 8 of 400 GFLOP/s.
  EXPECT_DOUBLE_EQ(j["prefill_128_share_of_peak"].get<double>(), 0.02);
  EXPECT_EQ(j["prefill_128_peak"], "bf16 dot (vdpbf16ps)");
  EXPECT_EQ(j["cpu"], "avx512bf16 (test CPU)");
  EXPECT_DOUBLE_EQ(j["peak_bf16_dot_gflop_s"].get<double>(), 400);
  EXPECT_DOUBLE_EQ(j["gemm_gflop_s"].get<double>(), 300);
  EXPECT_DOUBLE_EQ(j["prefill_512_tok_s"].get<double>(), 512);
  // decode: 1 MB head + 4 blocks of 2 MB = 9 MB per token; 40 GB/s -> 4444.4 tok/s ceiling.
  EXPECT_DOUBLE_EQ(j["decode_tok_s"].get<double>(), 100);
  EXPECT_EQ(j["decode_after_prompt"], 32);
  EXPECT_DOUBLE_EQ(j["decode_weight_bytes_per_token"].get<double>(), 9e6);
  EXPECT_DOUBLE_EQ(j["decode_ceiling_tok_s"].get<double>(), 40e9 / 9e6);
  EXPECT_DOUBLE_EQ(j["decode_share_of_bandwidth"].get<double>(), 100 / (40e9 / 9e6));
  // beside: a 250 tok/s ceiling at 9 MB per token is 2.25 GB/s.
  EXPECT_DOUBLE_EQ(j["decode_bandwidth_beside_gb_s"].get<double>(), 2.25);
  EXPECT_DOUBLE_EQ(j["decode_ceiling_beside_tok_s"].get<double>(), 250);
  EXPECT_DOUBLE_EQ(j["decode_share_of_bandwidth_beside"].get<double>(), 0.4);
  EXPECT_EQ(j["peak_rss_bytes"], 123456);
}

TEST(EvalBenchJson, RoutedRunAddsGatesAndTheComparison) {
  const Json j = bench_json(sample_result(true, true, false));
  EXPECT_DOUBLE_EQ(j["decode_blocks_run"].get<double>(), 2);
  EXPECT_EQ(j["decode_gates"], "1010");
  EXPECT_DOUBLE_EQ(j["prefill_512_blocks_run"].get<double>(), 2);
  // 1 MB head + 2 blocks read per token.
  EXPECT_DOUBLE_EQ(j["decode_weight_bytes_per_token"].get<double>(), 5e6);
  const Json& cmp = j["routed_vs_open"];
  EXPECT_EQ(keys(cmp),
            (std::vector<std::string>{"prefill_128", "prefill_512", "decode_per_token"}));
  // Prefill: half the FLOPs closed, twice as fast -> 50 % realised of 50 % predicted.
  EXPECT_EQ(keys(cmp["prefill_128"]),
            (std::vector<std::string>{"routed_s", "open_s", "saving_realised", "saving_predicted",
                                      "realised_over_predicted"}));
  EXPECT_DOUBLE_EQ(cmp["prefill_128"]["routed_s"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(cmp["prefill_128"]["open_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(cmp["prefill_128"]["saving_predicted"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(cmp["prefill_128"]["realised_over_predicted"].get<double>(), 1.0);
  // Decode: 5 of 9 MB read -> 4/9 predicted; 100 vs 80 tok/s -> 20 % realised.
  EXPECT_DOUBLE_EQ(cmp["decode_per_token"]["saving_predicted"].get<double>(), 1 - 5e6 / 9e6);
  EXPECT_DOUBLE_EQ(cmp["decode_per_token"]["saving_realised"].get<double>(), 1 - 0.01 / 0.0125);

  // Routed but every block open: the gates are reported, there is nothing to compare.
  const Json open = bench_json(sample_result(true, false, false));
  EXPECT_EQ(open["decode_gates"], "1111");
  EXPECT_FALSE(open.contains("routed_vs_open"));
  EXPECT_FALSE(routing_closed_blocks(sample_result(true, false, false).inference));
  EXPECT_TRUE(routed_vs_open(sample_result(true, false, false).inference).empty());
  // Without routing no gate keys at all.
  const Json plain = bench_json(sample_result(false, true, false));
  for (const char* k :
       {"decode_blocks_run", "decode_gates", "prefill_512_blocks_run", "routed_vs_open"})
    EXPECT_FALSE(plain.contains(k)) << k;
}

}  // namespace
}  // namespace lr::eval
