#include "eval/eval_run.h"

#include <optional>

#include "core/error.h"
#include "core/threads.h"
#include "eval/block_influence.h"
#include "eval/report.h"
#include "eval/skip_calibration.h"
#include "io/safetensors.h"
#include "layerroute/adapters.h"
#include "layerroute/train_weights.h"
#include "model/forward.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "train/adapter_io.h"

namespace lr::eval {

namespace {

// The matched-compute baselines of baselines.h, beside the routed results in r.
void run_baselines(const EvalRunConfig& cfg, const std::vector<TokenizedSample>& samples,
                   const std::vector<std::string>& origins, TrainWeights& w, LoraWeights* lora,
                   const EvalOptions& eo, EvalResults* r) {
  const auto note = [&](const std::string& s) {
    if (cfg.progress) cfg.progress(s);
  };
  Baselines& b = r->baselines;
  const int L = r->n_layers;
  const TypeStats& all = r->types[2];
  b.n_layers = L;
  b.router_mean_blocks_run = all.mean_blocks_run;
  b.closed = matched_closed_blocks(all.mean_blocks_run, L);
  for (int t = 0; t < 3; ++t) b.router_ppl[t] = r->types[size_t(t)].routed.ppl();
  b.mean_soft = all.mean_soft;
  for (const TaskConfigResult& c : r->task.configs)
    if (c.name == "lora_routed") b.router_task = c;
  if (b.closed == 0) {
    b.note = "not measured: the routers close no block on average on this data";
    return;
  }
  LR_CHECK(cfg.random_draws >= 0, "--random-draws must be >= 0");
  // Block influence with the same LoRA, on the first eval samples.
  std::vector<std::vector<int>> calib;
  for (size_t i = 0; i < samples.size() && calib.size() < cfg.calibration_samples; ++i)
    calib.emplace_back(samples[i].ids.begin(), samples[i].ids.end());
  {
    const Model m = Model::load(cfg.model_dir);
    std::optional<Adapters> ia;
    LowRankDeltas d;
    if (lora) {
      ia.emplace(Adapters::load(cfg.adapters_dir, m.config));
      d = ia->deltas();
    }
    b.block_influence = block_influence(m, d.any_active() ? &d : nullptr, calib);
  }
  b.calibration_samples = int(calib.size());
  std::vector<std::pair<std::string, std::string>> masks = {
      {"soft_gate", lowest_k_mask(b.mean_soft, b.closed)},
      {"block_influence", lowest_k_mask(b.block_influence, b.closed)}};
  for (const std::string& mk : random_k_masks(L, b.closed, cfg.random_draws, cfg.baseline_seed))
    masks.push_back({"random", mk});
  for (const auto& [kind, mask] : masks) {
    BaselineRun run;
    run.kind = kind;
    run.mask = mask;
    EvalOptions bo = eo;
    bo.gates = GateSpec::mask(mask);
    bo.run_base = bo.run_lora_all = bo.run_lora_zero = false;
    bo.progress = nullptr;
    const EvalResults br = evaluate(w, lora, nullptr, samples, bo, origins);
    for (int t = 0; t < 3; ++t) run.ppl[t] = br.types[size_t(t)].routed.ppl();
    if (r->task.measured) {
      TaskSetup ts;
      ts.model_dir = cfg.model_dir;
      ts.adapters_dir = cfg.adapters_dir;
      ts.gates = bo.gates;
      ts.no_lora = cfg.no_lora;
      ts.max_new_tokens = cfg.task_max_new_tokens;
      ts.gated_only = true;
      TaskResults tr = run_task_metrics(ts, r->task.items);
      run.task = std::move(tr.configs.front());
      run.task->name = kind;
    }
    note("baseline " + kind + " mask:" + mask + " done");
    b.runs.push_back(std::move(run));
  }
  b.measured = true;
  b.note =
      "block influence = 1 - cos(block input, block output), mean over tokens; random "
      "masks: " +
      std::to_string(cfg.random_draws) + " draws, seed " + std::to_string(cfg.baseline_seed);
}

}  // namespace

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
  std::vector<Sample> raw;  // for the task metrics' prompts and references
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
      raw.push_back(loaded[i]);
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
  std::vector<TaskItem> task_items;
  if (cfg.task_metrics != EvalRunConfig::Tasks::Off) {
    task_items = select_task_items(raw, origins, cfg.max_task_samples);
    LR_CHECK(!task_items.empty() || cfg.task_metrics != EvalRunConfig::Tasks::On,
             "eval: --task-metrics: no sample has a reference answer (a tool-call step, or a "
             "planning step with \"####\")");
  }

  const bool dial = cfg.gate_threshold || cfg.logit_offset || cfg.skip_target;
  RouteDial rd;
  std::optional<SkipCalibration> calibration;
  if (dial) {
    LR_CHECK(ad && ad->routers,
             "eval: --gate-threshold, --logit-offset and --skip-target need --adapters with "
             "routers");
    LR_CHECK(gates.mode == GateMode::Router,
             "eval: --gate-threshold, --logit-offset and --skip-target act on the routers: not "
             "with --gates ",
             cfg.gates);
    if (cfg.gate_threshold) rd.threshold = *cfg.gate_threshold;
    if (cfg.logit_offset) rd.logit_offset = *cfg.logit_offset;
    if (cfg.skip_target) {
      std::vector<std::vector<int>> calib;
      if (!cfg.calibration.empty()) {
        calib = calibration_prompts(cfg.calibration, cfg.model_dir, cfg.calibration_samples,
                                    cfg.max_seq_len);
      } else {
        for (size_t i = 0; i < samples.size() && calib.size() < cfg.calibration_samples; ++i)
          calib.emplace_back(samples[i].ids.begin(), samples[i].ids.end());
      }
      const Model m = Model::load(cfg.model_dir);
      const Adapters ia = Adapters::load(cfg.adapters_dir, m.config);
      LowRankDeltas d;
      if (!cfg.no_lora) d = ia.deltas();
      RouteOptions ro;
      ro.gates = gates;
      ro.settings = rd.applied(ia.settings);
      calibration =
          calibrate_skip(m, ia.router, d.any_active() ? &d : nullptr, ro, calib, *cfg.skip_target);
      rd.logit_offset = calibration->logit_offset;
      note(calibration->describe());
    }
  } else {
    LR_CHECK(cfg.calibration.empty(), "eval: --calibration is only used by --skip-target");
  }

  TrainWeights w = TrainWeights::load(mc, Checkpoint::open_dir(cfg.model_dir));
  EvalOptions eo;
  eo.batch_size = cfg.batch_size;
  if (ad) eo.threshold = ad->routing.threshold, eo.pooling = ad->routing.pooling;
  if (rd.threshold) eo.threshold = *rd.threshold;
  eo.logit_offset = rd.logit_offset;
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
    ws.dial = rd;
    r.wallclock = measure_wallclock(ws, prompts);
  }
  if (cfg.task_metrics == EvalRunConfig::Tasks::Off) {
    r.task.note = "not measured: task metrics off (--no-task-metrics)";
  } else {
    TaskSetup ts;
    ts.model_dir = cfg.model_dir;
    ts.adapters_dir = cfg.adapters_dir;
    ts.gates = gates;
    ts.no_lora = cfg.no_lora;
    ts.max_new_tokens = cfg.task_max_new_tokens;
    ts.progress = cfg.progress;
    ts.dial = rd;
    note("task metrics: " + std::to_string(task_items.size()) + " prompts with a reference answer");
    r.task = run_task_metrics(ts, std::move(task_items));
  }
  if (!cfg.baselines) {
    r.baselines.note = "not measured: --no-baselines";
  } else if (gates.mode != GateMode::Router || !routers) {
    r.baselines.note = "not measured: no routers gate this evaluation (gates " + r.gates + ")";
  } else {
    run_baselines(cfg, samples, origins, w, lora, eo, &r);
  }
  r.meta = Json{{"model", cfg.model_dir},
                {"adapters", cfg.adapters_dir},
                {"gates", gates.str()},
                {"no_lora", cfg.no_lora},
                {"data", data_reports},
                {"max_samples_per_dataset", cfg.max_samples},
                {"max_seq_len", cfg.max_seq_len},
                {"batch_size", cfg.batch_size},
                {"max_task_samples", cfg.max_task_samples},
                {"task_max_new_tokens", cfg.task_max_new_tokens},
                {"random_draws", cfg.random_draws},
                {"baseline_seed", cfg.baseline_seed},
                {"loss_on", cfg.loss_on == LossOn::All ? "all" : "assistant"}};
  if (dial) {
    Json dj{{"threshold", eo.threshold}, {"logit_offset", rd.logit_offset}};
    if (calibration) dj["calibration"] = calibration->json();
    r.meta["dial"] = dj;
  }
  if (!cfg.out_dir.empty()) write_reports(r, cfg.out_dir);
  return r;
}

}  // namespace lr::eval
