#pragma once
// Evaluation of a LayerRoute model (DESIGN.md §4): one sample is one step; samples are
// batched by step type and length (rows padded, masked-mean pooling as in training) and run
// through TrainGraph::forward without gradients or dropout in four configurations:
//   base        no LoRA, every block (TrainGate::AllOpen)
//   lora_all    LoRA, every block (AllOpen)
//   routed      LoRA + the chosen gates: the configuration whose gates are recorded; the
//               routers (Hard gates) by default, or every block open, or a fixed mask
//   lora_zero   LoRA scale 0 (B zeroed) + the same gates: the "LoRA impact" comparison
// Router biases are used as loaded, for every sample (the reference reset them to 1.0
// after its first sample; we do not).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/baselines.h"
#include "eval/task_eval.h"
#include "eval/wallclock.h"
#include "io/json.h"
#include "layerroute/gates.h"
#include "layerroute/lora.h"
#include "layerroute/router.h"
#include "layerroute/train_weights.h"
#include "text/dataset.h"

namespace lr::eval {

struct EvalOptions {
  int batch_size = 4;
  float threshold = 0.5f;
  double logit_offset = 0.0;  // added to every router logit (RouteSettings::logit_offset)
  RouterPooling pooling = RouterPooling::MaskedMean;
  int32_t pad_id = 0;  // only read by MeanAll pooling
  GateSpec gates;      // router (needs routers; without them every block runs) | open | mask:BITS
  bool run_base = true, run_lora_zero = true;
  bool run_lora_all = true;                          // with LoRA: the all-blocks pass (lora_all)
  std::function<void(const std::string&)> progress;  // one line per finished pass
};

struct LossTally {
  double ce_sum = 0;
  long n_targets = 0;
  bool measured = false;
  double ce() const;   // mean token CE (NaN when not measured)
  double ppl() const;  // exp(ce)
};

// Per step type ("tool_call", "planning", and "all").
struct TypeStats {
  std::string name;
  int n_samples = 0;
  long tokens = 0;
  double mean_seq_len = 0, mean_blocks_run = 0, skip_pct = 0;
  int64_t paper_flops_all = 0, paper_flops_routed = 0;  // paper block formula, summed
  int64_t full_flops_all = 0, full_flops_routed = 0;    // full forward (LoRA-all vs routed)
  double paper_saving_pct = 0, full_saving_pct = 0;
  LossTally base, lora_all, routed, lora_zero;
  std::vector<double> mean_soft, open_frac;  // [L]
  double flip_rate = 0;                      // vs the bias-only router
  double corr_gate_len = 0;                  // gate score vs sequence length, within this type
  double delta_ppl_vs_lora_all() const { return routed.ppl() - lora_all.ppl(); }
  double delta_ppl_vs_base() const { return routed.ppl() - base.ppl(); }
  double lora_impact_ce() const { return lora_zero.ce() - routed.ce(); }  // > 0: LoRA helps
};

struct SampleRecord {
  int index = 0;
  std::string origin;
  StepLabel label = StepLabel::Planning;
  int seq_len = 0;
  long n_targets = 0;
  int blocks_run = 0;
  double gate_score = 0;                 // mean soft gate over blocks
  std::vector<float> soft, hard, score;  // [L]; score = pre-sigmoid (see logit_of_soft)
  int64_t paper_flops_all = 0, paper_flops_routed = 0, full_flops_all = 0, full_flops_routed = 0;
};

// Prefill/decode speed with the KV cache, routed vs every block. Filled by the routed
// inference path once it exists; until then measured = false with the reason in note.

struct EvalResults {
  std::string model_type;
  int n_layers = 0, hidden = 0;
  float threshold = 0.5f;
  double logit_offset = 0.0;
  std::string pooling;
  bool has_lora = false, has_routers = false;
  std::string gates = "router";  // how the recorded configuration gated: router | open | mask:BITS
  LoraConfig lora_cfg;
  std::vector<float> bias;           // [L] router biases as used
  std::vector<double> sigmoid_bias;  // [L] the bias-only gate value
  std::vector<TypeStats> types;      // tool_call, planning, all
  double skip_differential = 0;      // tool_call skip % - planning skip %
  double paper_saving_differential = 0;
  double corr_gate_len = 0;    // over all samples
  double corr_gate_label = 0;  // point-biserial, label 1 = tool_call
  double flip_rate = 0;
  std::vector<SampleRecord> samples;
  WallClock wallclock;
  TaskResults task;            // task metrics by generation, filled by run_eval
  Baselines baselines;         // matched-compute static/random masks, filled by run_eval
  Json meta = Json::object();  // inputs (model, adapters, data), filled by the caller
};

// lora and routers may be nullptr (no adapters / no routing: every block runs, lora_zero is
// skipped). With opts.gates open or mask:BITS the routers are not consulted (scores and flip
// rate are NaN). Throws lr::Error for an empty sample list or a shape mismatch.
EvalResults evaluate(TrainWeights& weights, LoraWeights* lora, RouterWeights* routers,
                     const std::vector<TokenizedSample>& samples, const EvalOptions& opts,
                     const std::vector<std::string>& origins = {});

}  // namespace lr::eval
