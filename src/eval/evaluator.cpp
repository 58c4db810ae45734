#include "eval/evaluator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "eval/metrics.h"
#include "layerroute/train_graph.h"
#include "train/batching.h"

namespace lr::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kTool = 0, kPlan = 1, kAll = 2;

int type_of(StepLabel l) {
  return l == StepLabel::ToolCall ? kTool : kPlan;
}

long count_targets(const TokenizedSample& s) {
  long n = 0;
  for (size_t t = 1; t < s.loss_mask.size(); ++t) n += s.loss_mask[t] ? 1 : 0;
  return n;
}

// Batches hold one step type each, so a batch's CE is that type's, and similar lengths, so
// little padding is computed.
std::vector<std::vector<int>> plan_batches(const std::vector<TokenizedSample>& s, int bs) {
  std::vector<int> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const int ta = type_of(s[size_t(a)].label), tb = type_of(s[size_t(b)].label);
    if (ta != tb) return ta < tb;
    return s[size_t(a)].ids.size() < s[size_t(b)].ids.size();
  });
  std::vector<std::vector<int>> out;
  for (int i : order) {
    const bool fresh = out.empty() || int(out.back().size()) >= bs ||
                       type_of(s[size_t(out.back().front())].label) != type_of(s[size_t(i)].label);
    if (fresh) out.emplace_back();
    out.back().push_back(i);
  }
  return out;
}

using BatchFn = std::function<void(const TrainGraph&, const std::vector<int>&, const StepMetrics&)>;

// How one pass gates its blocks.
struct Gating {
  TrainGate mode = TrainGate::AllOpen;
  RouterWeights* routers = nullptr;  // Hard only
  std::vector<unsigned char> mask;   // Fixed only
};

const Gating kAllOpen{};

void run_pass(TrainWeights& w, LoraWeights* lora, const Gating& gating, const EvalOptions& o,
              const std::vector<TokenizedSample>& samples,
              const std::vector<std::vector<int>>& batches, const BatchFn& fn) {
  TrainOptions to;
  to.gate_mode = gating.mode;
  to.pooling = o.pooling;
  to.threshold = o.threshold;
  to.logit_offset = o.logit_offset;
  to.fixed_mask = gating.mask;
  TrainGraph g(w, lora, gating.mode == TrainGate::Hard ? gating.routers : nullptr, to);
  RunOptions run;
  run.need_grad = false;
  run.dropout = false;
  for (const auto& idx : batches) {
    std::vector<const TokenizedSample*> rows;
    for (int i : idx) rows.push_back(&samples[size_t(i)]);
    const Batch b = make_batch(rows, o.pad_id);
    const StepMetrics m = g.forward(b, run);
    fn(g, idx, m);
  }
}

// CE per type from per-batch means (each batch is one type).
void tally(LossTally* per_type, const std::vector<TokenizedSample>& s, const std::vector<int>& idx,
           const StepMetrics& m) {
  for (int t : {type_of(s[size_t(idx.front())].label), kAll}) {
    per_type[t].ce_sum += m.ce * double(m.n_targets);
    per_type[t].n_targets += m.n_targets;
    per_type[t].measured = true;
  }
}

double saving(int64_t all, int64_t routed) {
  return all > 0 ? 100.0 * (1.0 - double(routed) / double(all)) : kNaN;
}

}  // namespace

double LossTally::ce() const {
  return measured && n_targets > 0 ? ce_sum / double(n_targets) : kNaN;
}
double LossTally::ppl() const {
  return std::exp(ce());
}

EvalResults evaluate(TrainWeights& weights, LoraWeights* lora, RouterWeights* routers,
                     const std::vector<TokenizedSample>& samples, const EvalOptions& opts,
                     const std::vector<std::string>& origins) {
  const ModelConfig& c = weights.cfg;
  const int L = c.n_layers;
  LR_CHECK(!samples.empty(), "eval: no samples");
  LR_CHECK(opts.batch_size > 0, "eval: batch size must be positive");
  LR_CHECK(!routers || (routers->n_layers == L && routers->hidden == c.hidden),
           "eval: routers are for ", routers ? routers->n_layers : 0, " blocks of width ",
           routers ? routers->hidden : 0, ", the model has ", L, " of width ", c.hidden);
  LR_CHECK(!lora || lora->n_layers == L, "eval: LoRA is for ", lora ? lora->n_layers : 0,
           " blocks, the model has ", L);
  opts.gates.check(L);

  // The recorded configuration's gates.
  Gating gating;
  switch (opts.gates.mode) {
    case GateMode::Router:
      if (routers) gating.mode = TrainGate::Hard, gating.routers = routers;
      break;
    case GateMode::Open:
      break;
    case GateMode::Mask:
      gating.mode = TrainGate::Fixed;
      for (int l = 0; l < L; ++l) gating.mask.push_back(opts.gates.mask_opens(l) ? 1 : 0);
      break;
  }
  const bool routed_by_routers = gating.mode == TrainGate::Hard;

  EvalResults r;
  r.model_type = c.model_type;
  r.n_layers = L;
  r.hidden = c.hidden;
  r.threshold = opts.threshold;
  r.logit_offset = opts.logit_offset;
  r.pooling = opts.pooling == RouterPooling::MaskedMean ? "masked-mean" : "mean-all";
  r.has_lora = lora != nullptr;
  r.has_routers = routers != nullptr;
  r.gates = opts.gates.mode == GateMode::Router && !routers ? "open" : opts.gates.str();
  if (lora) r.lora_cfg = lora->cfg;
  if (routers) {
    r.bias = routers->b;
    for (float b : r.bias) r.sigmoid_bias.push_back(sigmoid(b));
  }
  // The bias-only router the flip rate compares with sits under the same dial (b + offset).
  std::vector<float> dial_bias = r.bias;
  for (float& b : dial_bias) b = float(double(b) + opts.logit_offset);

  const auto batches = plan_batches(samples, opts.batch_size);
  const auto note = [&](const std::string& s) {
    if (opts.progress) opts.progress(s);
  };

  r.samples.resize(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    SampleRecord& s = r.samples[i];
    s.index = int(i);
    s.origin = i < origins.size() ? origins[i] : std::string();
    s.label = samples[i].label;
    s.seq_len = int(samples[i].ids.size());
    s.n_targets = count_targets(samples[i]);
  }

  LossTally base[3], lora_all[3], routed[3], lora_zero[3];
  // The recorded configuration: LoRA + the chosen gates.
  run_pass(weights, lora, gating, opts, samples, batches,
           [&](const TrainGraph& g, const std::vector<int>& idx, const StepMetrics& m) {
             tally(routed, samples, idx, m);
             const size_t rows = idx.size();
             for (size_t b = 0; b < rows; ++b) {
               SampleRecord& s = r.samples[size_t(idx[b])];
               s.soft.resize(size_t(L)), s.hard.resize(size_t(L)), s.score.resize(size_t(L));
               for (int l = 0; l < L; ++l) {
                 const size_t k = size_t(l) * rows + b;
                 s.soft[size_t(l)] = g.soft_gates()[k];
                 s.hard[size_t(l)] = g.gates()[k];
                 s.score[size_t(l)] =
                     routed_by_routers ? float(logit_of_soft(g.soft_gates()[k])) : float(kNaN);
               }
             }
           });
  note("routed pass done");
  if (lora && opts.run_lora_all) {
    run_pass(weights, lora, kAllOpen, opts, samples, batches,
             [&](const TrainGraph&, const std::vector<int>& idx, const StepMetrics& m) {
               tally(lora_all, samples, idx, m);
             });
    note("LoRA all-blocks pass done");
  }
  if (opts.run_base) {
    run_pass(weights, nullptr, kAllOpen, opts, samples, batches,
             [&](const TrainGraph&, const std::vector<int>& idx, const StepMetrics& m) {
               tally(base, samples, idx, m);
             });
    note("base pass done");
  }
  if (!lora) std::copy(std::begin(base), std::end(base), std::begin(lora_all));
  if (lora && gating.mode != TrainGate::AllOpen && opts.run_lora_zero) {
    LoraWeights zero = *lora;  // scale 0 through B = 0: the LoRA term vanishes exactly
    for (LoraAdapter& a : zero.adapters) std::fill(a.B.begin(), a.B.end(), 0.f);
    run_pass(weights, &zero, gating, opts, samples, batches,
             [&](const TrainGraph&, const std::vector<int>& idx, const StepMetrics& m) {
               tally(lora_zero, samples, idx, m);
             });
    note("LoRA scale-0 routed pass done");
  }

  // Per-sample FLOPs and gate score.
  const LoraConfig* lc = lora ? &lora->cfg : nullptr;
  for (SampleRecord& s : r.samples) {
    s.blocks_run = 0;
    double soft_sum = 0;
    for (int l = 0; l < L; ++l) {
      s.blocks_run += s.hard[size_t(l)] > 0.5f ? 1 : 0;
      soft_sum += s.soft[size_t(l)];
    }
    s.gate_score = soft_sum / L;
    const int64_t pb = paper_block_flops(c, s.seq_len);
    s.paper_flops_all = L * pb;
    s.paper_flops_routed = s.blocks_run * pb;
    s.full_flops_all = full_forward_flops(c, s.seq_len, L, lc, false).total();
    s.full_flops_routed =
        full_forward_flops(c, s.seq_len, s.blocks_run, lc, routed_by_routers).total();
  }

  // Per type.
  static const char* kNames[3] = {"tool_call", "planning", "all"};
  for (int t = 0; t < 3; ++t) {
    TypeStats ts;
    ts.name = kNames[t];
    ts.base = base[t], ts.lora_all = lora_all[t], ts.routed = routed[t],
    ts.lora_zero = lora_zero[t];
    ts.mean_soft.assign(size_t(L), 0.0);
    ts.open_frac.assign(size_t(L), 0.0);
    std::vector<double> score, len;
    std::vector<float> hard;
    double blocks = 0, seq = 0;
    for (const SampleRecord& s : r.samples) {
      if (t != kAll && type_of(s.label) != t) continue;
      ++ts.n_samples;
      ts.tokens += s.seq_len;
      seq += s.seq_len;
      blocks += s.blocks_run;
      for (int l = 0; l < L; ++l) {
        ts.mean_soft[size_t(l)] += s.soft[size_t(l)];
        ts.open_frac[size_t(l)] += s.hard[size_t(l)];
      }
      hard.insert(hard.end(), s.hard.begin(), s.hard.end());
      score.push_back(s.gate_score);
      len.push_back(s.seq_len);
      ts.paper_flops_all += s.paper_flops_all;
      ts.paper_flops_routed += s.paper_flops_routed;
      ts.full_flops_all += s.full_flops_all;
      ts.full_flops_routed += s.full_flops_routed;
    }
    const double n = ts.n_samples > 0 ? double(ts.n_samples) : kNaN;
    for (int l = 0; l < L; ++l) ts.mean_soft[size_t(l)] /= n, ts.open_frac[size_t(l)] /= n;
    ts.mean_seq_len = seq / n;
    ts.mean_blocks_run = blocks / n;
    ts.skip_pct = skip_pct(ts.mean_blocks_run, L);
    ts.paper_saving_pct = saving(ts.paper_flops_all, ts.paper_flops_routed);
    ts.full_saving_pct = saving(ts.full_flops_all, ts.full_flops_routed);
    ts.flip_rate = routed_by_routers ? flip_rate(hard, dial_bias, opts.threshold) : kNaN;
    ts.corr_gate_len = pearson(score, len);
    if (t == kAll) {
      r.corr_gate_len = ts.corr_gate_len;
      r.flip_rate = ts.flip_rate;
      std::vector<bool> label;
      for (const SampleRecord& s : r.samples) label.push_back(s.label == StepLabel::ToolCall);
      r.corr_gate_label = point_biserial(score, label);
    }
    r.types.push_back(std::move(ts));
  }
  r.skip_differential = skip_differential(r.types[kTool].skip_pct, r.types[kPlan].skip_pct);
  r.paper_saving_differential = r.types[kTool].paper_saving_pct - r.types[kPlan].paper_saving_pct;
  return r;
}

}  // namespace lr::eval
