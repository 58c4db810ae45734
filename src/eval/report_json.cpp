// eval.json: every number of the evaluation. nlohmann writes NaN as null.
#include "eval/metrics.h"
#include "eval/report.h"

namespace lr::eval {

namespace {

Json loss_json(const LossTally& t) {
  return Json{
      {"measured", t.measured}, {"n_targets", t.n_targets}, {"ce", t.ce()}, {"ppl", t.ppl()}};
}

Json type_json(const TypeStats& t) {
  Json j;
  j["n_samples"] = t.n_samples;
  j["tokens"] = t.tokens;
  j["mean_seq_len"] = t.mean_seq_len;
  j["mean_blocks_run"] = t.mean_blocks_run;
  j["skip_pct"] = t.skip_pct;
  j["flops"] = Json{{"paper_block_all", t.paper_flops_all},
                    {"paper_block_routed", t.paper_flops_routed},
                    {"paper_block_saving_pct", t.paper_saving_pct},
                    {"full_forward_all", t.full_flops_all},
                    {"full_forward_routed", t.full_flops_routed},
                    {"full_forward_saving_pct", t.full_saving_pct}};
  j["loss"] = Json{{"base", loss_json(t.base)},
                   {"lora_all_blocks", loss_json(t.lora_all)},
                   {"lora_routed", loss_json(t.routed)},
                   {"lora_scale0_routed", loss_json(t.lora_zero)}};
  j["delta_ppl_routed_minus_lora_all"] = t.delta_ppl_vs_lora_all();
  j["delta_ppl_routed_minus_base"] = t.delta_ppl_vs_base();
  j["lora_impact_ce_scale0_minus_lora"] = t.lora_impact_ce();
  j["mean_soft_gate"] = t.mean_soft;
  j["open_share"] = t.open_frac;
  j["flip_rate_vs_bias_only"] = t.flip_rate;
  j["corr_gate_score_seq_len"] = t.corr_gate_len;
  return j;
}

}  // namespace

Json results_json(const EvalResults& r) {
  Json j;
  j["meta"] = r.meta;
  Json model;
  model["model_type"] = r.model_type;
  model["n_layers"] = r.n_layers;
  model["hidden"] = r.hidden;
  j["model"] = model;
  Json routing;
  routing["has_routers"] = r.has_routers;
  routing["gates"] = r.gates;
  routing["threshold"] = r.threshold;
  routing["logit_offset"] = r.logit_offset;
  routing["pooling"] = r.pooling;
  routing["bias"] = r.bias;
  routing["sigmoid_bias"] = r.sigmoid_bias;
  j["routing"] = routing;
  Json lora;
  lora["has_lora"] = r.has_lora;
  if (r.has_lora) {
    lora["rank"] = r.lora_cfg.rank;
    lora["alpha"] = r.lora_cfg.alpha;
    Json t = Json::array();
    for (LoraTarget x : r.lora_cfg.targets) t.push_back(lora_target_name(x));
    lora["targets"] = t;
  }
  j["lora"] = lora;
  Json types = Json::object();
  for (const TypeStats& t : r.types) types[t.name] = type_json(t);
  j["types"] = types;
  j["skip_differential_points"] = r.skip_differential;
  j["paper_flops_saving_differential_points"] = r.paper_saving_differential;
  j["diagnostics"] = Json{{"corr_gate_score_seq_len", r.corr_gate_len},
                          {"point_biserial_gate_score_tool_call", r.corr_gate_label},
                          {"flip_rate_vs_bias_only", r.flip_rate},
                          {"gate_score", "mean soft gate over blocks per sample"}};
  j["flops_formulas"] = Json{
      {"paper_block", "2TH(n_q d) + 4TH(n_kv d) + 2T^2(n_q d) + 2T(n_q d)H + 6THI per run block"},
      {"full_forward",
       "per run block: 2TH(n_q d) + 4TH(n_kv d) + 2T(n_q d)H + 6THI + 4T^2(n_q d) + LoRA "
       "2Tr(in+out) per target; routers TH + 2H per block when routed; LM head 2THV"}};
  const WallClock& w = r.wallclock;
  j["wallclock"] =
      Json{{"measured", w.measured},
           {"note", w.note},
           {"prompts", w.prompts},
           {"prefill_tok_s_routed", w.measured ? Json(w.prefill_tok_s_routed) : Json()},
           {"prefill_tok_s_all", w.measured ? Json(w.prefill_tok_s_all) : Json()},
           {"decode_tok_s_routed", w.measured ? Json(w.decode_tok_s_routed) : Json()},
           {"decode_tok_s_all", w.measured ? Json(w.decode_tok_s_all) : Json()},
           {"decode_tokens", w.decode_tokens},
           {"mean_blocks_run", w.measured ? Json(w.mean_blocks_run) : Json()},
           {"n_layers", w.n_layers},
           {"predicted_speedup", w.measured ? Json(w.predicted_speedup) : Json()}};
  j["task_metrics"] = task_results_json(r.task);
  j["baselines"] = baselines_json(r.baselines);
  Json samples = Json::array();
  for (const SampleRecord& s : r.samples) {
    Json x;
    x["index"] = s.index;
    x["origin"] = s.origin;
    x["label"] = step_label_name(s.label);
    x["seq_len"] = s.seq_len;
    x["n_targets"] = s.n_targets;
    x["blocks_run"] = s.blocks_run;
    x["gate_score"] = s.gate_score;
    x["soft"] = s.soft;
    x["hard"] = s.hard;
    x["score"] = s.score;
    x["paper_flops_routed"] = s.paper_flops_routed;
    x["full_flops_routed"] = s.full_flops_routed;
    samples.push_back(x);
  }
  j["samples"] = samples;
  return j;
}

}  // namespace lr::eval
