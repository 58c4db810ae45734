#include "eval/bench.h"

#include <algorithm>
#include <random>

#include "core/best_of.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "eval/flops.h"
#include "kernels/cpu/argmax.h"
#include "kernels/cpu/peak_probe.h"
#include "layerroute/gates.h"

namespace lr::eval {

namespace {

// Seeded random ids: speed does not depend on which tokens a prompt holds.
std::vector<int> random_ids(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> ids(n);
  for (int& id : ids) id = d(rng);
  return ids;
}

// Prefill of each size into a fresh cache, best of `reps`, each repetition after an sgemm
// probe. With two sides (a routed session and its all-open twin) each repetition runs them
// back to back, so both meet the same moments of a machine whose speed moves between phases
// of a few seconds.
void measure_prefill(ModelSession* const* ss, int sides, const ModelConfig& c, int reps,
                     SgemmProbe& probe, SessionFigures* out) {
  for (int i = 0; i < 2; ++i) {
    const int n = kBenchPrefillSizes[i];
    const std::vector<int> ids = random_ids(n, c.vocab, 1234 + n);
    double rate = 0;
    const auto best = best_of_alternating<PrefillFigure>(
        reps, sides,
        [&](int side) {
          if (side == 0) rate = probe.rate();
          ModelSession& s = *ss[side];
          s.reset();
          Timer t;
          s.prefill(ids);
          PrefillFigure f;
          f.tokens = n;
          f.seconds = t.seconds();
          f.sgemm_beside = rate;
          RoutedSession* rs = s.routed();
          f.blocks_run = rs ? rs->blocks_run() : c.n_layers;
          return f;
        },
        [](PrefillFigure& b, const PrefillFigure& f) {
          if (f.seconds < b.seconds) b = f;
        });
    for (int side = 0; side < sides; ++side) {
      out[side].prefill[size_t(i)] = best[size_t(side)];
      PrefillFigure& f = out[side].prefill[size_t(i)];
      f.flops = cached_prefill_flops(c, n, f.blocks_run);
    }
  }
}

// Bytes a decoded token reads: the LM head, and each block that runs.
struct DecodeBytes {
  double head = 0, block = 0;
};

// One session's greedy decode after a prompt, timed a few tokens at a time.
class DecodeRun {
 public:
  DecodeRun(ModelSession& s, const ModelConfig& c, int prompt, DecodeBytes bytes)
      : s_(s), c_(c), bytes_(bytes) {
    s_.reset();
    next_ = argmax(s_.prefill(random_ids(prompt, c.vocab, 99)).data(), c.vocab);
  }
  // n tokens; sec_per_byte: the bandwidth probed just before.
  void step(int n, double sec_per_byte) {
    RoutedSession* rs = s_.routed();
    double blocks = 0;
    Timer t;
    for (int i = 0; i < n; ++i) {
      next_ = argmax(s_.decode(next_).data(), c_.vocab);
      blocks += rs ? rs->blocks_run() : c_.n_layers;  // a few ns: inside the timing is fine
    }
    seconds_ += t.seconds();
    tokens_ += n;
    blocks_ += blocks;
    ceiling_s_ += sec_per_byte * (n * bytes_.head + blocks * bytes_.block);
  }
  DecodeFigure figure() const {
    DecodeFigure f;
    f.tok_s = double(tokens_) / seconds_;
    f.blocks_run = blocks_ / double(std::max(tokens_, 1L));
    f.ceiling_beside_tok_s = ceiling_s_ > 0 ? double(tokens_) / ceiling_s_ : 0;
    if (RoutedSession* rs = s_.routed()) f.gates = rs->gate_string();
    return f;
  }

 private:
  ModelSession& s_;
  const ModelConfig& c_;
  DecodeBytes bytes_;
  int next_ = 0;
  long tokens_ = 0;
  double seconds_ = 0, blocks_ = 0, ceiling_s_ = 0;
};

// One decode round: a session, or a routed session and its all-open twin in slices of
// kSlice tokens taken in turn. The bandwidth moves between phases lasting seconds, and whole
// runs in turn (~3 s each) let one side catch a fast phase and the other a slow one; slices
// of 8 tokens put both sides in the same phases. Before each slice a bandwidth probe measures
// the read rate of that moment.
std::array<DecodeFigure, 2> measure_decode_round(ModelSession* const* ss, int sides,
                                                 const ModelConfig& c, int prompt, int tokens,
                                                 DecodeBytes bytes, BandwidthProbe& bw) {
  constexpr int kSlice = 8;
  std::vector<DecodeRun> runs;
  runs.reserve(size_t(sides));
  for (int i = 0; i < sides; ++i) runs.emplace_back(*ss[i], c, prompt, bytes);
  for (int done = 0; done < tokens; done += kSlice) {
    const double sec_per_byte = bw.pass() / bw.bytes();
    for (auto& run : runs) run.step(std::min(kSlice, tokens - done), sec_per_byte);
  }
  std::array<DecodeFigure, 2> out;
  for (int i = 0; i < sides; ++i) out[size_t(i)] = runs[size_t(i)].figure();
  return out;
}

}  // namespace

namespace {

// bf16 and q8 weights both take the bf16 kernel where the CPU has BF16.
PeakLoop prefill_loop(CpuPath p, WeightsDType w) {
  return gemm_peak_loop(p, w != WeightsDType::F32);
}

}  // namespace

double BenchLimits::prefill_peak_flop_s(WeightsDType weights) const {
  switch (prefill_loop(path, weights)) {
    case PeakLoop::Bf16Dot:
      return peak_bf16_flop_s;
    case PeakLoop::FmaAvx512:
      return peak_fma_avx512_flop_s;
    case PeakLoop::FmaAvx2:
      return peak_fma_avx2_flop_s;
  }
  return 0;
}

const char* BenchLimits::prefill_peak_name(WeightsDType weights) const {
  return peak_loop_name(prefill_loop(path, weights));
}

BenchProbes::BenchProbes() {
  limits_.threads = num_threads();
  limits_.mem_read_bytes_s = read_bandwidth_1gib();
  limits_.sgemm_flop_s = sgemm_.rate(4);
  limits_.cpu = cpu_path_summary();
  limits_.path = cpu_path();
  limits_.peak_fma_avx2_flop_s = probe_peak_flop_s(PeakLoop::FmaAvx2);
  limits_.peak_fma_avx512_flop_s = probe_peak_flop_s(PeakLoop::FmaAvx512);
  limits_.peak_bf16_flop_s = probe_peak_flop_s(PeakLoop::Bf16Dot);
  {
    GemmProbe g;
    limits_.gemm_flop_s = g.rate(4);
    limits_.gemm_kernel = g.kernel();
  }
  // 256 MiB (8x the L3) reads as fast as 1 GiB here, and stays mapped for the whole run.
  bandwidth_.emplace(size_t(256) << 20);
  LR_CHECK(bandwidth_->ok(), "bench: cannot map a 256 MiB buffer for the bandwidth probe");
  // The 1 GiB buffer is gone: peak RSS from here on is the model's and the sessions'.
  peak_rss_reset_ = reset_peak_rss();
}

InferenceBench measure_inference(const Model& model, const RouteSetup* route,
                                 const InferenceBenchOptions& opts, BenchProbes& probes) {
  LR_CHECK(opts.reps > 0 && opts.decode_tokens > 0 && opts.decode_prompt > 0,
           "bench: reps, decode tokens and decode prompt must be positive");
  const ModelConfig& c = model.config;
  InferenceBench b;
  b.n_layers = c.n_layers;
  b.routed = route != nullptr;
  b.decode_tokens = opts.decode_tokens;
  b.decode_prompt = opts.decode_prompt;
  b.weight_bytes = decode_bytes(model);
  b.head_bytes = linear_bytes(model.weights.head());
  b.block_bytes = (b.weight_bytes - b.head_bytes) / c.n_layers;
  for (int i = 0; i < 2; ++i)
    b.prefill_flops_all[size_t(i)] = cached_prefill_flops(c, kBenchPrefillSizes[i], c.n_layers);

  // The all-open twin (same LoRA) of a routed session, measured alternately with it.
  std::optional<RouteSetup> open_setup;
  if (route) {
    open_setup.emplace();
    open_setup->opt = route->opt;
    open_setup->opt.gates = GateSpec::parse("open");
    open_setup->deltas = route->deltas;  // same LoRA; they point into route's adapters
  }
  // Chunks of 512: a 512-token prefill is one GEMM call per projection, which packs (and
  // widens) each weight once; two chunks of 256 would pack every weight twice.
  const int max_T = std::max(512, opts.decode_prompt + opts.decode_tokens + 1);
  {
    ModelSession s(model, route, max_T, 512);
    std::optional<ModelSession> o;
    if (open_setup) o.emplace(model, &*open_setup, max_T, 512);
    ModelSession* const sessions[2] = {&s, o ? &*o : nullptr};
    const int sides = o ? 2 : 1;
    SessionFigures fig[2];
    measure_prefill(sessions, sides, c, opts.reps, probes.sgemm(), fig);
    // Decode: the sides interleaved within each round; with a twin, --reps rounds.
    const auto decode = best_of_rounds<DecodeFigure>(
        o ? opts.reps : 1, sides,
        [&] {
          return measure_decode_round(sessions, sides, c, opts.decode_prompt, opts.decode_tokens,
                                      DecodeBytes{b.head_bytes, b.block_bytes}, probes.bandwidth());
        },
        [](DecodeFigure& best, const DecodeFigure& r) {
          if (r.tok_s > best.tok_s) best = r;
        });
    fig[0].decode = decode[0];
    fig[1].decode = decode[1];
    b.figures = fig[0];
    b.open = fig[1];
  }
  // The probes' buffers stay resident throughout: not the inference's memory.
  b.probes_bytes = probes.resident_bytes();
  const size_t peak = peak_rss_bytes();
  b.peak_rss = peak > b.probes_bytes ? peak - b.probes_bytes : peak;
  return b;
}

bool routing_closed_blocks(const InferenceBench& b) {
  const SessionFigures& f = b.figures;
  return b.routed && (f.prefill[0].blocks_run < b.n_layers ||
                      f.prefill[1].blocks_run < b.n_layers || f.decode.blocks_run < b.n_layers);
}

std::vector<RoutedSaving> routed_vs_open(const InferenceBench& b) {
  std::vector<RoutedSaving> rows;
  if (!routing_closed_blocks(b)) return rows;
  for (int i = 0; i < 2; ++i) {
    const PrefillFigure &r = b.figures.prefill[size_t(i)], &o = b.open.prefill[size_t(i)];
    rows.push_back({"prefill_" + std::to_string(r.tokens), r.seconds, o.seconds,
                    1.0 - r.flops / b.prefill_flops_all[size_t(i)]});
  }
  rows.push_back({"decode_per_token", 1.0 / b.figures.decode.tok_s, 1.0 / b.open.decode.tok_s,
                  1.0 - b.decode_bytes() / b.weight_bytes});
  return rows;
}

}  // namespace lr::eval
