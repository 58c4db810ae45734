#include "train/train_bench.h"

#include <cblas.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "eval/flops.h"
#include "io/safetensors.h"
#include "kernels/cpu/peak_probe.h"
#include "layerroute/adamw.h"
#include "layerroute/train_graph.h"

namespace lr {

namespace {

// Best of three C[M, I] = X[M, H] W^T at the model's MLP shape: the rate the step's
// matmuls can reach on this machine with this thread count.
double measure_sgemm_gflops(const ModelConfig& c, int M) {
  const int H = c.hidden, I = c.intermediate;
  std::vector<float> x(size_t(M) * H, 0.5f), w(size_t(I) * H, 0.25f), y(size_t(M) * I);
  double best = 1e30;
  for (int rep = 0; rep < 4; ++rep) {
    Timer t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, I, H, 1.f, x.data(), H, w.data(), H,
                0.f, y.data(), I);
    if (rep > 0) best = std::min(best, t.seconds());
  }
  return 2.0 * M * H * I / best / 1e9;
}

Batch bench_batch(int rows, int seq, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  Batch b;
  b.rows = rows, b.seq = seq;
  const size_t n = size_t(rows) * size_t(seq);
  b.ids.resize(n);
  for (int32_t& id : b.ids) id = d(rng);
  b.attn_mask.assign(n, 1);
  b.loss_mask.assign(n, 1);
  for (int r = 0; r < rows; ++r) b.loss_mask[size_t(r) * size_t(seq)] = 0;  // nothing predicts it
  b.labels.assign(size_t(rows), StepLabel::ToolCall);
  return b;
}

}  // namespace

Json TrainBenchResult::to_json() const {
  Json j;
  j["rows"] = rows, j["seq"] = seq, j["steps"] = steps, j["threads"] = threads;
  j["load_s"] = load_s;
  j["best_step_s"] = best_step_s, j["mean_step_s"] = mean_step_s;
  j["tok_s"] = tok_s, j["tok_s_mean"] = tok_s_mean;
  j["fwd_s"] = fwd_s, j["bwd_s"] = bwd_s, j["opt_s"] = opt_s;
  j["blocks_open"] = blocks_open;
  j["frozen_matmul"] = frozen_matmul;
  j["cpu"] = cpu;
  j["flops_per_token"] = flops_per_token;
  j["flops_per_token_executed"] = flops_per_token_executed;
  j["gflops"] = gflops, j["sgemm_gflops"] = sgemm_gflops;
  j["limit_gflops"] = limit_gflops, j["limit_name"] = limit_name, j["limit_share"] = limit_share;
  j["peak_rss_bytes"] = peak_rss;
  j["loss_first"] = loss_first, j["loss_last"] = loss_last;
  return j;
}

TrainBenchResult bench_training(const ModelConfig& cfg, const TrainBenchOptions& o) {
  LR_CHECK(o.rows > 0 && o.seq > 1 && o.steps > 0, "bench-train: rows, seq > 1 and steps > 0");
  set_num_threads(o.threads);
  TrainBenchResult res;
  res.rows = o.rows, res.seq = o.seq, res.steps = o.steps, res.threads = num_threads();
  Timer load_t;
  TrainWeights w = o.model_dir.empty() ? TrainWeights::random(cfg, o.seed)
                                       : TrainWeights::load(cfg, Checkpoint::open_dir(o.model_dir));
  res.load_s = load_t.seconds();

  // The default recipe: LoRA r8 alpha16 dropout 0.05 on q/k/v/o, routers initialised with the
  // middle band closed, gate regulariser 1.0, AdamW lr 2e-4, clip 1.0.
  LoraWeights lora = LoraWeights::init(cfg, LoraConfig{}, o.seed + 1);
  RouterWeights routers = RouterWeights::init(cfg);
  if (o.all_open) std::fill(routers.b.begin(), routers.b.end(), 1.f);
  TrainOptions to;
  to.frozen_matmul = o.frozen_bf16 ? ops::FrozenMatmul::BF16 : ops::FrozenMatmul::F32;
  res.frozen_matmul = o.frozen_bf16 ? "bf16" : "f32";
  res.cpu = cpu_path_summary();
  TrainGraph g(w, &lora, &routers, to);
  std::vector<Param> ps = g.params();
  AdamW opt(ps);
  const Batch batch = bench_batch(o.rows, o.seq, cfg.vocab, o.seed + 2);

  double total = 0, open = 0;
  res.best_step_s = 1e30;
  for (int step = 0; step <= o.steps; ++step) {
    Timer t;
    zero_grad(ps);
    RunOptions run;
    run.step = uint64_t(step);
    const StepMetrics m = g.forward(batch, run);
    const double t_fwd = t.seconds();
    g.backward();
    const double t_bwd = t.seconds();
    clip_grad_norm(ps, 1.0);
    opt.step(ps, 2e-4f);
    const double s = t.seconds();
    if (step == 0) res.loss_first = m.loss;
    res.loss_last = m.loss;
    if (step == 0) continue;  // warm-up: first touch of the arena, OpenBLAS buffers
    total += s;
    open += m.mean_blocks_run / cfg.n_layers;
    if (s < res.best_step_s) {
      res.best_step_s = s;
      res.fwd_s = t_fwd, res.bwd_s = t_bwd - t_fwd, res.opt_s = s - t_bwd;
    }
  }
  const double tokens = double(o.rows) * o.seq;
  res.mean_step_s = total / o.steps;
  res.tok_s = tokens / res.best_step_s;
  res.tok_s_mean = tokens / res.mean_step_s;
  res.blocks_open = open / o.steps;
  res.flops_per_token = eval::train_step_flops_per_token(cfg, lora.cfg, o.seq, 1.0);
  res.flops_per_token_executed =
      eval::train_step_flops_per_token(cfg, lora.cfg, o.seq, res.blocks_open);
  res.gflops = res.flops_per_token_executed * res.tok_s / 1e9;
  res.sgemm_gflops = measure_sgemm_gflops(cfg, o.rows * o.seq);
  // The frozen GEMMs are most of the step's FLOPs: its limit is the peak of their loop,
  // our GEMM's in bf16, OpenBLAS's sgemm in f32.
  if (o.frozen_bf16) {
    const PeakLoop loop = gemm_peak_loop(cpu_path(), true);
    res.limit_gflops = probe_peak_flop_s(loop) / 1e9;
    res.limit_name = peak_loop_name(loop);
  } else {
    res.limit_gflops = res.sgemm_gflops, res.limit_name = "sgemm";
  }
  res.limit_share = res.gflops / res.limit_gflops;
  res.peak_rss = peak_rss_bytes();
  return res;
}

}  // namespace lr
