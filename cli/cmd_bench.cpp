// `layerroute bench`: parses the flags, runs the bench library (eval/bench.h) and prints its
// figures as a table, and as JSON with --json.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/child_process.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "eval/bench.h"
#include "eval/bench_train_child.h"
#include "io/atomic_file.h"
#include "io/json.h"

namespace lr::cli {

namespace {

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", 100 * x);
  return buf;
}

void print_limits(const eval::BenchLimits& l) {
  std::cout << "kernels: " << l.cpu << "\n";
  std::cout << l.threads << " threads: memory read " << l.mem_read_bytes_s / 1e9
            << " GB/s (1 GiB sum), sgemm " << l.sgemm_flop_s / 1e9
            << " GFLOP/s (OpenBLAS, M=512, 896->4864)\n";
  std::cout << "peaks (register-only loops): fp32 FMA avx2 " << l.peak_fma_avx2_flop_s / 1e9;
  if (l.peak_fma_avx512_flop_s > 0) std::cout << ", avx512 " << l.peak_fma_avx512_flop_s / 1e9;
  if (l.peak_bf16_flop_s > 0) std::cout << ", bf16 dot " << l.peak_bf16_flop_s / 1e9;
  std::cout << " GFLOP/s\n";
  std::cout << "our GEMM (" << l.gemm_kernel
            << ", bf16 weights, same shape): " << l.gemm_flop_s / 1e9
            << " GFLOP/s = " << pct(l.gemm_flop_s / l.prefill_peak_flop_s(WeightsDType::BF16))
            << " of the " << l.prefill_peak_name(WeightsDType::BF16) << " peak\n";
}

void print_inference(const eval::InferenceBench& b, const eval::BenchLimits& l, bool peak_rss_reset,
                     WeightsDType weights) {
  const double gemm = l.sgemm_flop_s, bw = l.mem_read_bytes_s;
  const double peak = l.prefill_peak_flop_s(weights);
  const int L = b.n_layers;
  for (const eval::PrefillFigure& p : b.figures.prefill) {
    std::cout << "prefill " << p.tokens << " tokens: " << p.tok_s() << " tok/s, "
              << p.flop_s() / 1e9 << " GFLOP/s = " << pct(p.flop_s() / gemm)
              << " of sgemm (ceiling " << gemm / p.flops * p.tokens << " tok/s)";
    if (b.routed) std::cout << ", blocks run " << p.blocks_run << "/" << L;
    std::cout << "\n    " << pct(p.flop_s() / p.sgemm_beside) << " of the sgemm just before it ("
              << p.sgemm_beside / 1e9 << " GFLOP/s), " << pct(p.flop_s() / peak) << " of the "
              << l.prefill_peak_name(weights) << " peak\n";
  }
  const eval::DecodeFigure& d = b.figures.decode;
  std::cout << "decode " << b.decode_tokens << " tokens after a " << b.decode_prompt
            << "-token prompt: " << d.tok_s
            << " tok/s = " << pct(d.tok_s / b.decode_ceiling_tok_s(bw))
            << " of the bandwidth ceiling (" << b.decode_bytes() / 1e6
            << " MB of weights per token, " << b.decode_ceiling_tok_s(bw) << " tok/s)";
  if (b.routed) std::cout << ", blocks run " << d.blocks_run << "/" << L << " per step";
  std::cout << "\n    " << pct(d.tok_s / d.ceiling_beside_tok_s)
            << " of the bandwidth measured before every 8 tokens ("
            << b.decode_bandwidth_beside() / 1e9 << " GB/s, " << d.ceiling_beside_tok_s
            << " tok/s)\n";
  std::cout << "peak RSS (inference): " << (b.peak_rss >> 20) << " MiB (less the "
            << (b.probes_bytes >> 20) << " MiB of the probes)"
            << (peak_rss_reset ? "" : " (includes the 1 GiB bandwidth buffer)") << "\n";
  if (!b.routed) return;
  if (!eval::routing_closed_blocks(b)) {
    std::cout << "routing closed no block: no routed vs all-open comparison\n";
    return;
  }
  std::cout << "routed vs all blocks open:\n";
  for (const eval::RoutedSaving& s : eval::routed_vs_open(b)) {
    const double realised = s.realised();
    std::cout << "  " << s.name << ": all-open " << s.open_s * 1e3 << " ms, routed "
              << s.routed_s * 1e3 << " ms: saving " << pct(realised) << " (predicted "
              << pct(s.predicted) << ")"
              << (s.predicted > 0
                      ? ", realised " + pct(realised / s.predicted) + " of the prediction"
                      : std::string())
              << "\n";
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench",
      "Measure the machine's limits, prefill and decode tokens/s (KV cache) and training\n"
      "tokens/s, each with its share of the limit; with routing, routed vs all blocks open");
  static ModelOptions m;
  static RouteOptionsCli route_opts;
  static eval::InferenceBenchOptions inf;
  static int train_steps = 2;
  static bool no_train = false;
  static std::string json_out;
  add_model_options(sub, &m);
  add_route_options(sub, &route_opts);
  sub->add_option(
         "--reps", inf.reps,
         "Repetitions per prefill size, best reported (with routing: the routed session and its "
         "all-open twin back to back in each, and as many decode rounds, each interleaving the "
         "two 8 tokens at a time)")
      ->capture_default_str();
  sub->add_option("--decode-tokens", inf.decode_tokens, "Tokens decoded after the prompt")
      ->capture_default_str();
  sub->add_option("--decode-prompt", inf.decode_prompt, "Prompt length before decoding")
      ->capture_default_str();
  sub->add_option("--train-steps", train_steps,
                  "Timed training steps per micro-batch shape (1x512, 4x128), after a warm-up")
      ->capture_default_str();
  sub->add_flag("--no-train", no_train, "Skip the training measurement");
  sub->add_option("--json", json_out, "Also write the figures as JSON");
  registry().push_back(
      {sub, [] {
         set_num_threads(m.threads);
         check_route_options(route_opts);
         LR_CHECK(inf.reps > 0 && inf.decode_tokens > 0 && inf.decode_prompt > 0 && train_steps > 0,
                  "bench: --reps, --decode-tokens, --decode-prompt and --train-steps must be "
                  "positive");
         eval::BenchResult r;
         r.env = threading_env();
         eval::BenchProbes probes;
         r.limits = probes.limits();
         print_limits(r.limits);

         Timer load_t;
         const WeightsDType wdt = parse_weights_dtype(m.weights_dtype, m.model);
         const Model model = Model::load(m.model, wdt);
         r.load_s = load_t.seconds();
         r.model_dir = m.model;
         r.weights = wdt;
         const ModelConfig& c = model.config;
         const std::unique_ptr<RouteSetup> route = make_route_setup(route_opts, model, m.model);
         if (route) std::cout << route->describe() << "\n";
         std::cout << "model " << m.model << " (" << c.n_layers << " blocks, hidden " << c.hidden
                   << ", vocab " << c.vocab << "), weights " << weights_dtype_name(wdt) << "\n";
         r.inference = eval::measure_inference(model, route.get(), inf, probes);
         print_inference(r.inference, r.limits, probes.peak_rss_reset(), wdt);

         if (!no_train) {
           r.with_training = true;
           const std::string exe = self_executable();
           for (const eval::TrainShape shape : eval::kBenchTrainShapes) {
             std::cout << "training " << shape.key() << " (LoRA + routers, " << train_steps
                       << " steps)..." << std::flush;
             const Json j =
                 eval::bench_training_child(exe, m.model, shape, train_steps, num_threads());
             r.training.emplace_back(shape.key(), j);
             std::cout << "\rtraining " << shape.key() << ": " << j["tok_s"].get<double>()
                       << " tok/s, " << j["gflops"].get<double>()
                       << " GFLOP/s = " << pct(j["limit_share"].get<double>()) << " of "
                       << j["limit_name"].get<std::string>() << ", peak RSS "
                       << (j["peak_rss_bytes"].get<size_t>() >> 20) << " MiB\n";
           }
         }
         if (!json_out.empty()) write_file_atomic(json_out, eval::bench_json(r).dump(2) + "\n");
         return 0;
       }});
}

}  // namespace lr::cli
