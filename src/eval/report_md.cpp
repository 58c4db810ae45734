// summary.md: the tables of DESIGN §4, also printed by `layerroute eval`.
#include <cmath>
#include <sstream>

#include "eval/report.h"

namespace lr::eval {

namespace {

std::string signed_num(double v, int d) {
  const std::string s = fmt_num(v, d);
  return (std::isfinite(v) && v >= 0) ? "+" + s : s;
}

}  // namespace

std::string summary_markdown(const EvalResults& r) {
  std::ostringstream o;
  const int L = r.n_layers;
  o << "# LayerRoute evaluation\n\n";
  o << "Model: " << r.model_type << ", " << L << " blocks, hidden " << r.hidden
    << ". Routers: " << (r.has_routers ? "yes" : "none (every block runs)") << ", threshold "
    << fmt_num(r.threshold, 2)
    << (r.logit_offset != 0 ? ", logit offset " + fmt_num(r.logit_offset, 4) : std::string())
    << ", pooling " << r.pooling << ". Gates: " << r.gates
    << ". LoRA: " << (r.has_lora ? "rank " + std::to_string(r.lora_cfg.rank) : std::string("none"))
    << ".\n\n";

  o << "## Skipping and FLOPs (" << (r.has_lora ? "LoRA + " : "no LoRA, ") << "gates " << r.gates
    << ")\n\n";
  o << "| type | samples | mean tokens | blocks run (of " << L
    << ") | skip % | paper block FLOPs saved % | full forward FLOPs saved % |\n";
  o << "|---|---:|---:|---:|---:|---:|---:|\n";
  for (const TypeStats& t : r.types)
    o << "| " << t.name << " | " << t.n_samples << " | " << fmt_num(t.mean_seq_len, 1) << " | "
      << fmt_num(t.mean_blocks_run, 2) << " | " << fmt_num(t.skip_pct, 2) << " | "
      << fmt_num(t.paper_saving_pct, 2) << " | " << fmt_num(t.full_saving_pct, 2) << " |\n";
  o << "\nSkip differential (tool_call − planning): **" << signed_num(r.skip_differential, 2)
    << " points** (block FLOPs: " << signed_num(r.paper_saving_differential, 2) << ").\n\n";

  o << "| type | paper block FLOPs, all blocks | paper block FLOPs, routed | full forward, all "
       "blocks | full forward, routed |\n|---|---:|---:|---:|---:|\n";
  for (const TypeStats& t : r.types)
    o << "| " << t.name << " | " << fmt_int_grouped(t.paper_flops_all) << " | "
      << fmt_int_grouped(t.paper_flops_routed) << " | " << fmt_int_grouped(t.full_flops_all)
      << " | " << fmt_int_grouped(t.full_flops_routed) << " |\n";

  o << "\n## Perplexity\n\n";
  o << "| type | base | LoRA, all blocks | LoRA + routing | Δ routing − LoRA-all | Δ routing − "
       "base | LoRA scale 0 + routing | LoRA impact (ΔCE, scale 0 − LoRA) |\n";
  o << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const TypeStats& t : r.types)
    o << "| " << t.name << " | " << fmt_num(t.base.ppl(), 4) << " | "
      << fmt_num(t.lora_all.ppl(), 4) << " | " << fmt_num(t.routed.ppl(), 4) << " | "
      << signed_num(t.delta_ppl_vs_lora_all(), 4) << " | " << signed_num(t.delta_ppl_vs_base(), 4)
      << " | " << fmt_num(t.lora_zero.ppl(), 4) << " | " << signed_num(t.lora_impact_ce(), 4)
      << " |\n";

  o << "\n## Diagnostics\n\n";
  o << "Gate score = mean soft gate over blocks per sample. n/a: undefined (a constant "
       "side).\n\n";
  o << "| measure | all | tool_call | planning |\n|---|---:|---:|---:|\n";
  o << "| corr(gate score, sequence length) | " << fmt_num(r.corr_gate_len, 3) << " | "
    << fmt_num(r.types[0].corr_gate_len, 3) << " | " << fmt_num(r.types[1].corr_gate_len, 3)
    << " |\n";
  o << "| point-biserial(gate score, tool_call) | " << fmt_num(r.corr_gate_label, 3) << " | | |\n";
  o << "| decisions changed vs bias-only router % | " << fmt_num(100 * r.flip_rate, 2) << " | "
    << fmt_num(100 * r.types[0].flip_rate, 2) << " | " << fmt_num(100 * r.types[1].flip_rate, 2)
    << " |\n";

  o << "\n## Gates per block\n\n";
  o << "| block | bias | sigmoid(b) | mean soft tool_call | mean soft planning | open % "
       "tool_call | open % planning |\n|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int l = 0; l < L; ++l) {
    const size_t i = size_t(l);
    const bool has = i < r.bias.size();
    o << "| " << l << " | " << (has ? fmt_num(r.bias[i], 3) : "n/a") << " | "
      << (has ? fmt_num(r.sigmoid_bias[i], 3) : "n/a") << " | "
      << fmt_num(r.types[0].mean_soft[i], 3) << " | " << fmt_num(r.types[1].mean_soft[i], 3)
      << " | " << fmt_num(100 * r.types[0].open_frac[i], 1) << " | "
      << fmt_num(100 * r.types[1].open_frac[i], 1) << " |\n";
  }

  o << "\n## Wall clock (KV cache)\n\n";
  const WallClock& w = r.wallclock;
  if (!w.measured) {
    o << w.note << ".\n";
  } else {
    o << "| | routed | all blocks | speed-up |\n|---|---:|---:|---:|\n";
    o << "| prefill tok/s | " << fmt_num(w.prefill_tok_s_routed, 1) << " | "
      << fmt_num(w.prefill_tok_s_all, 1) << " | "
      << fmt_num(w.prefill_tok_s_routed / w.prefill_tok_s_all, 3) << "× |\n";
    o << "| decode tok/s | " << fmt_num(w.decode_tok_s_routed, 1) << " | "
      << fmt_num(w.decode_tok_s_all, 1) << " | "
      << fmt_num(w.decode_tok_s_routed / w.decode_tok_s_all, 3) << "× |\n";
    o << "\nRouted runs " << fmt_num(w.mean_blocks_run, 2) << " of " << w.n_layers
      << " blocks per prompt on average; predicted decode speed-up "
      << fmt_num(w.predicted_speedup, 3) << "×, realised "
      << fmt_num(w.decode_tok_s_routed / w.decode_tok_s_all, 3) << "×. " << w.prompts
      << " prompts, " << w.decode_tokens << " decoded tokens each; " << w.note << ".\n";
  }
  o << task_metrics_markdown(r.task);
  o << baselines_markdown(r.baselines);
  return o.str();
}

}  // namespace lr::eval
