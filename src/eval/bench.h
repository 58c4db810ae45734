#pragma once
// `layerroute bench` as a library: this machine's limits (memory read bandwidth, sgemm rate),
// then prefill (128 and 512 tokens) and KV-cache decode speed of a model, each figure with
// its share of the limit that bounds it: the run's once-measured limit, and the same limit
// probed right beside the figure (a shared VM's speed moves between phases of seconds).
// With routing, the routed session is measured against its all-open twin (same LoRA), the
// two alternated (core/best_of.h). Training speed per micro-batch shape runs in a child
// `layerroute bench-train` (bench_train_child.h). The figures are plain structs; bench_json()
// turns them into the JSON that bench/run_all.sh and the docs read.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "eval/machine_limits.h"
#include "eval/model_session.h"
#include "io/json.h"
#include "model/linear.h"

namespace lr::eval {

struct BenchLimits {
  int threads = 0;
  double mem_read_bytes_s = 0;   // a sum over 1 GiB, best of 3
  double sgemm_flop_s = 0;       // SgemmProbe: M = 512, 896 -> 4864, best of 4
  std::string cpu;               // cpu_path_summary(): the kernel path, the CPU, its flags
  CpuPath path = CpuPath::Avx2;  // the kernel path the figures ran on
  // Register-only peaks (kernels/cpu/peak_probe.h); 0 where the CPU lacks the loop.
  double peak_fma_avx2_flop_s = 0, peak_fma_avx512_flop_s = 0, peak_bf16_flop_s = 0;
  double gemm_flop_s = 0;  // GemmProbe: our GEMM, bf16 panels, same shape as the sgemm
  std::string gemm_kernel;
  // The peak of the loop the prefill GEMM of these weights runs on this path: the bf16
  // dot where the weights are multiplied in bf16 (bf16 and q8 weights on avx512bf16),
  // else the path's fp32 FMA; and its name.
  double prefill_peak_flop_s(WeightsDType weights) const;
  const char* prefill_peak_name(WeightsDType weights) const;
};

// Measures the limits once, then keeps the probes that measure them again beside each figure
// for the whole run (they allocate nothing after construction). Restarts the peak RSS once
// the 1 GiB buffer is gone, so a later peak is the model's and the sessions'.
class BenchProbes {
 public:
  BenchProbes();
  const BenchLimits& limits() const { return limits_; }
  SgemmProbe& sgemm() { return sgemm_; }
  BandwidthProbe& bandwidth() { return *bandwidth_; }
  size_t resident_bytes() const { return sgemm_.resident_bytes() + bandwidth_->resident_bytes(); }
  bool peak_rss_reset() const { return peak_rss_reset_; }

 private:
  BenchLimits limits_;
  SgemmProbe sgemm_;
  std::optional<BandwidthProbe> bandwidth_;
  bool peak_rss_reset_ = false;
};

inline constexpr int kBenchPrefillSizes[2] = {128, 512};

// One prefill size of one session: its best repetition.
struct PrefillFigure {
  int tokens = 0;
  double seconds = 0;
  double blocks_run = 0;    // the blocks its gates ran
  double flops = 0;         // cached_prefill_flops for those blocks
  double sgemm_beside = 0;  // FLOP/s of the sgemm probed just before the kept repetition
  double tok_s() const { return tokens / seconds; }
  double flop_s() const { return flops / seconds; }
};

// Greedy decode after a prompt, the best round.
struct DecodeFigure {
  double tok_s = 0;
  double blocks_run = 0;            // mean per decoded step
  double ceiling_beside_tok_s = 0;  // the bytes read, at the bandwidth probed before each slice
  std::string gates;                // routed: the last decoded step's
};

struct SessionFigures {
  std::array<PrefillFigure, 2> prefill;  // kBenchPrefillSizes
  DecodeFigure decode;
};

struct InferenceBenchOptions {
  int reps = 3;  // prefill repetitions; with routing, also decode rounds
  int decode_tokens = 128, decode_prompt = 512;
};

struct InferenceBench {
  int n_layers = 0;
  bool routed = false;  // a routing setup was given; `open` holds its all-open twin
  int decode_tokens = 0, decode_prompt = 0;
  // Weight bytes a decoded token reads: everything, the LM head, one block.
  double weight_bytes = 0, head_bytes = 0, block_bytes = 0;
  std::array<double, 2> prefill_flops_all{};  // every block run
  SessionFigures figures, open;
  size_t peak_rss = 0;      // bytes, less the probes' buffers
  size_t probes_bytes = 0;  // the probes' resident buffers
  // What the kept decode round read per token (closed blocks: nothing).
  double decode_bytes() const { return head_bytes + figures.decode.blocks_run * block_bytes; }
  // Tokens/s those bytes allow at `bandwidth` bytes/s.
  double decode_ceiling_tok_s(double bandwidth) const { return bandwidth / decode_bytes(); }
  // The probes' bandwidth beside the kept round, weighted by the bytes each slice read.
  double decode_bandwidth_beside() const {
    return figures.decode.ceiling_beside_tok_s * decode_bytes();
  }
};

// Prefill of each size into a fresh cache, best of opts.reps (each after an sgemm probe),
// then greedy decode in slices of 8 tokens (each after a bandwidth probe); with a route, the
// routed session and its all-open twin alternate within each repetition and each slice.
InferenceBench measure_inference(const Model& model, const RouteSetup* route,
                                 const InferenceBenchOptions& opts, BenchProbes& probes);

// Routed vs every block open: the saving realised against the saving the closed blocks
// predict (their share of the FLOPs for a prefill, of the weight bytes for a decoded token).
struct RoutedSaving {
  std::string name;  // prefill_128, prefill_512, decode_per_token
  double routed_s = 0, open_s = 0, predicted = 0;
  double realised() const { return 1.0 - routed_s / open_s; }
};
// True when a routed run closed some block somewhere (else there is nothing to compare).
bool routing_closed_blocks(const InferenceBench& b);
// Empty unless routing_closed_blocks.
std::vector<RoutedSaving> routed_vs_open(const InferenceBench& b);

struct BenchResult {
  BenchLimits limits;
  Json env;  // the threading variables this process runs under
  std::string model_dir;
  WeightsDType weights = WeightsDType::F32;  // in-memory weights (JSON weights_dtype)
  double load_s = 0;
  InferenceBench inference;
  bool with_training = false;
  std::vector<std::pair<std::string, Json>> training;  // "1x512" -> bench-train's figures
};

// The figures as JSON: the keys bench/run_all.sh, the tests and docs/benchmarks.md read.
Json bench_json(const BenchResult& r);

}  // namespace lr::eval
