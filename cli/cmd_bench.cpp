// `layerroute bench`: this machine's limits (memory read bandwidth, sgemm rate), then
// prefill (128 and 512 tokens) and KV-cache decode speed on a model, each figure with its
// share of the limit that bounds it. Prompts are seeded random ids: speed does not depend
// on which tokens they are.
#include <cblas.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "kernels/cpu/gemv.h"
#include "kernels/cpu/simd.h"
#include "model/forward.h"

namespace lr::cli {

namespace {

std::vector<int> random_ids(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> ids(n);
  for (int& id : ids) id = d(rng);
  return ids;
}

// Best of `reps` prefills of n tokens into a fresh cache, in seconds.
double prefill_s(ModelSession& s, const std::vector<int>& ids, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    s.reset();
    Timer t;
    s.prefill(ids);
    best = std::min(best, t.seconds());
  }
  return best;
}

// Read bandwidth in bytes/s: sum of a 1 GiB buffer (huge pages asked for, as for the
// weights) by all compute threads, best of 3 after one warm pass.
double read_bandwidth() {
  const size_t n = size_t(1) << 28;  // floats
  const size_t bytes = n * sizeof(float);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 0;
  madvise(mem, bytes, MADV_HUGEPAGE);
  float* p = static_cast<float*>(mem);
  parallel_for(long(n), [&](long b, long e) {
    for (long i = b; i < e; ++i) p[i] = 1.f;
  });
  double best = 1e30;
  std::atomic<double> sink{0};
  for (int rep = 0; rep < 4; ++rep) {
    Timer t;
    parallel_for(long(n) / 64, [&](long b, long e) {  // pieces of whole cache lines
      float s = 0;
#if LR_HAVE_AVX2
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (long i = b * 64; i < e * 64; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
      }
      s = simd::hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#else
      for (long i = b * 64; i < e * 64; ++i) s += p[i];
#endif
      double cur = sink.load();
      while (!sink.compare_exchange_weak(cur, cur + s)) {
      }
    });
    if (rep > 0) best = std::min(best, t.seconds());
  }
  munmap(mem, bytes);
  return sink.load() > 0 ? double(bytes) / best : 0;
}

// OpenBLAS sgemm rate in FLOP/s at M=512, 896 -> 4864 (an MLP projection of a prefill).
double sgemm_rate() {
  const int M = 512, K = 896, N = 4864;
  std::vector<float> a(size_t(M) * K, 0.5f), w(size_t(N) * K, 0.25f), c(size_t(M) * N);
  threads_idle();
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    Timer t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, a.data(), K, w.data(), K,
                0.f, c.data(), N);
    if (rep > 0) best = std::min(best, t.seconds());
  }
  return 2.0 * M * N * K / best;
}

double linear_bytes(const Linear& L) {
  const double n = double(L.rows) * L.cols;
  double b = 4.0 * L.bias.size();
  switch (L.dtype) {
    case WeightsDType::F32:
      return b + 4 * n;
    case WeightsDType::BF16:
      return b + 2 * n;
    case WeightsDType::Q8:
      return b + n + 4.0 * L.rows * q8_blocks(L.cols);
  }
  return b;
}

// Weight bytes one decoded token reads: every block matrix and the LM head once (the
// embedding row and the norms are noise).
double decode_bytes(const Model& m) {
  double b = linear_bytes(m.weights.head());
  for (const auto& l : m.weights.layers)
    for (const Linear* L : {&l.q, &l.k, &l.v, &l.o, &l.gate, &l.up, &l.down}) b += linear_bytes(*L);
  return b;
}

// FLOPs of a prefill of T tokens into an empty cache: 2 per weight per token in the blocks,
// causal attention (q.k and p.v: 4 d per (query head, key) pair), LM head on the last
// position only (as the session does).
double prefill_flops(const ModelConfig& c, int T) {
  double params = 0;
  params += double(c.hidden) * c.q_dim() * 2 + double(c.hidden) * c.kv_dim() * 2;
  params += 3.0 * c.hidden * c.intermediate;
  const double pairs = double(T) * (T + 1) / 2;
  return c.n_layers * (2 * params * T + 4.0 * c.head_dim * c.n_heads * pairs) +
         2.0 * c.vocab * c.hidden;
}

std::string pct(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", 100 * x);
  return buf;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench", "Measure the machine's limits, prefill and decode tokens/s (KV cache)");
  static ModelOptions m;
  static RouteOptionsCli route_opts;
  static int reps = 3, decode_tokens = 128, decode_prompt = 512;
  static std::string json_out;
  add_model_options(sub, &m);
  add_route_options(sub, &route_opts);
  sub->add_option("--reps", reps, "Repetitions per prefill size (best is reported)")
      ->capture_default_str();
  sub->add_option("--decode-tokens", decode_tokens, "Tokens decoded after the prompt")
      ->capture_default_str();
  sub->add_option("--decode-prompt", decode_prompt, "Prompt length before decoding")
      ->capture_default_str();
  sub->add_option("--json", json_out, "Also write the figures as JSON");
  registry().push_back(
      {sub, [] {
         set_num_threads(m.threads);
         check_route_options(route_opts);
         Json out;
         out["threads"] = num_threads();
         const double bw = read_bandwidth();
         const double gemm = sgemm_rate();
         out["mem_read_gb_s"] = bw / 1e9;
         out["sgemm_gflop_s"] = gemm / 1e9;
         std::cout << num_threads() << " threads: memory read " << bw / 1e9
                   << " GB/s (1 GiB sum), sgemm " << gemm / 1e9 << " GFLOP/s (M=512, 896->4864)\n";

         Timer load_t;
         const Model model = Model::load(m.model, parse_weights_dtype(m.weights_dtype));
         const double load_s = load_t.seconds();
         const ModelConfig& c = model.config;
         // Chunks of 512: a 512-token prefill is one sgemm per projection (M = 512 runs a
         // little faster than two of M = 256, and the bf16/q8 tiles are widened once).
         const std::unique_ptr<RouteSetup> route = make_route_setup(route_opts, model);
         ModelSession s(model, route.get(), std::max(512, decode_prompt + decode_tokens + 1), 512);
         if (route) std::cout << route->describe() << "\n";
         out["model"] = m.model;
         out["weights_dtype"] = m.weights_dtype;
         out["load_s"] = load_s;
         std::cout << "model " << m.model << " (" << c.n_layers << " blocks, hidden " << c.hidden
                   << ", vocab " << c.vocab << "), weights " << m.weights_dtype << "\n";
         for (int n : {128, 512}) {
           const double sec = prefill_s(s, random_ids(n, c.vocab, 1234 + n), reps);
           const double flops = prefill_flops(c, n);
           const std::string key = "prefill_" + std::to_string(n);
           out[key + "_tok_s"] = n / sec;
           out[key + "_gflop_s"] = flops / sec / 1e9;
           out[key + "_share_of_sgemm"] = flops / sec / gemm;
           std::cout << "prefill " << n << " tokens: " << n / sec << " tok/s, " << flops / sec / 1e9
                     << " GFLOP/s = " << pct(flops / sec / gemm) << " of sgemm (ceiling "
                     << gemm / flops * n << " tok/s)\n";
         }
         s.reset();
         const auto prompt = random_ids(decode_prompt, c.vocab, 99);
         auto logits = s.prefill(prompt);
         int next = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
         Timer t;
         for (int i = 0; i < decode_tokens; ++i) {
           logits = s.decode(next);
           next = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
         }
         const double dec = decode_tokens / t.seconds();
         const double bytes = decode_bytes(model);
         const double ceiling = bw / bytes;
         out["decode_tok_s"] = dec;
         out["decode_after_prompt"] = decode_prompt;
         if (RoutedSession* rs = s.routed()) {  // the decode step's gates
           out["blocks_run"] = rs->blocks_run();
           out["gates"] = rs->gate_string();
           std::cout << "routed: blocks run " << rs->blocks_run() << "/" << model.config.n_layers
                     << " [" << rs->gate_string() << "]\n";
         }
         out["decode_weight_bytes_per_token"] = bytes;
         out["decode_ceiling_tok_s"] = ceiling;
         out["decode_share_of_bandwidth"] = dec / ceiling;
         out["peak_rss_bytes"] = peak_rss_bytes();
         std::cout << "decode " << decode_tokens << " tokens after a " << decode_prompt
                   << "-token prompt: " << dec << " tok/s = " << pct(dec / ceiling)
                   << " of the bandwidth ceiling (" << bytes / 1e6 << " MB of weights per token, "
                   << ceiling << " tok/s)\n";
         std::cout << "peak RSS: " << (peak_rss_bytes() >> 20) << " MiB\n";
         if (!json_out.empty()) write_file_atomic(json_out, out.dump(2) + "\n");
         return 0;
       }});
}

}  // namespace lr::cli
