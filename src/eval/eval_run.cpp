#include "eval/eval_run.h"

#include <optional>

#include "core/error.h"
#include "core/threads.h"
#include "eval/report.h"
#include "io/safetensors.h"
#include "layerroute/train_weights.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/adapter_io.h"

namespace lr::eval {

EvalResults run_eval(const EvalRunConfig& cfg) {
  LR_CHECK(!cfg.data.empty(), "eval: give at least one --data FORMAT:FILE");
  LR_CHECK(cfg.batch_size > 0, "--batch-size must be positive");
  const GateSpec gates = GateSpec::parse(cfg.gates);
  set_num_threads(cfg.threads);
  const auto note = [&](const std::string& s) {
    if (cfg.progress) cfg.progress(s);
  };

  const ModelConfig mc = ModelConfig::load(cfg.model_dir);
  gates.check(mc.n_layers);
  const Tokenizer tok = Tokenizer::load(cfg.model_dir);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(cfg.model_dir);
  std::optional<LoadedAdapter> ad;
  if (!cfg.adapters_dir.empty()) ad = load_adapter_dir(cfg.adapters_dir, mc);

  std::vector<TokenizedSample> samples;
  std::vector<std::string> origins;
  Json data_reports = Json::array();
  for (const std::string& spec : cfg.data) {
    LoadReport rep;
    const DataSpec ds = DataSpec::parse(spec);
    const std::vector<Sample> loaded = load_dataset(ds, cfg.max_samples, &rep);
    for (size_t i = 0; i < loaded.size(); ++i) {
      samples.push_back(tokenize_sample(loaded[i], tok, tmpl, cfg.loss_on, cfg.max_seq_len));
      origins.push_back(loaded[i].origin.empty() ? ds.path + ":" + std::to_string(i + 1)
                                                 : loaded[i].origin);
    }
    data_reports.push_back(Json{{"spec", spec},
                                {"rows", rep.rows},
                                {"loaded", rep.loaded},
                                {"malformed", rep.malformed},
                                {"repaired", rep.repaired}});
    note(spec + ": " + std::to_string(loaded.size()) + " samples (" +
         std::to_string(rep.malformed) + " malformed)");
  }
  LR_CHECK(!samples.empty(), "eval: the datasets gave no samples");

  TrainWeights w = TrainWeights::load(mc, Checkpoint::open_dir(cfg.model_dir));
  EvalOptions eo;
  eo.batch_size = cfg.batch_size;
  if (ad) eo.threshold = ad->routing.threshold, eo.pooling = ad->routing.pooling;
  const int32_t eot = tok.token_to_id("<|endoftext|>");
  eo.pad_id = eot >= 0 && eot < mc.vocab ? eot : 0;
  eo.progress = cfg.progress;
  eo.gates = gates;
  LoraWeights* lora = ad && ad->lora && !cfg.no_lora ? &*ad->lora : nullptr;
  RouterWeights* routers = ad && ad->routers ? &*ad->routers : nullptr;
  EvalResults r = evaluate(w, lora, routers, samples, eo, origins);

  if (!cfg.wallclock) {
    r.wallclock.note = "not measured: --no-wallclock";
  } else if (gates.mode == GateMode::Open) {
    r.wallclock.note = "not measured: --gates open closes no block";
  } else if (gates.mode == GateMode::Router && !routers) {
    r.wallclock.note = "not measured: no routers (every block runs)";
  } else {
    // A few prompts of each step type, prefilled whole (one step) then decoded.
    std::vector<std::vector<int>> prompts;
    int taken[2] = {0, 0};
    for (const TokenizedSample& t : samples) {
      int& n = taken[int(t.label)];
      if (n >= cfg.wallclock_prompts_per_type) continue;
      ++n;
      prompts.emplace_back(t.ids.begin(), t.ids.end());
    }
    note("wall clock: " + std::to_string(prompts.size()) + " prompts, routed vs all blocks");
    WallClockSetup ws;
    ws.model_dir = cfg.model_dir;
    ws.adapters_dir = cfg.adapters_dir;
    ws.gates = gates;
    ws.no_lora = cfg.no_lora;
    r.wallclock = measure_wallclock(ws, prompts);
  }
  r.meta = Json{{"model", cfg.model_dir},
                {"adapters", cfg.adapters_dir},
                {"gates", gates.str()},
                {"no_lora", cfg.no_lora},
                {"data", data_reports},
                {"max_samples_per_dataset", cfg.max_samples},
                {"max_seq_len", cfg.max_seq_len},
                {"batch_size", cfg.batch_size},
                {"loss_on", cfg.loss_on == LossOn::All ? "all" : "assistant"}};
  if (!cfg.out_dir.empty()) write_reports(r, cfg.out_dir);
  return r;
}

}  // namespace lr::eval
