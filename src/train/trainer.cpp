#include "train/trainer.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "layerroute/adamw.h"
#include "layerroute/rng.h"
#include "layerroute/train_graph.h"
#include "train/adapter_io.h"
#include "train/batching.h"
#include "train/train_data.h"
#include "train/train_logs.h"
#include "train/trainer_state.h"

namespace lr {

namespace fs = std::filesystem;

namespace {

// Means of a group of micro-batch metrics.
struct Mean {
  double loss = 0, ce = 0, blocks = 0, skip = 0, gate_reg = 0;
  std::vector<double> soft;
  int n = 0;
  long tokens = 0;
  void add(const StepMetrics& m) {
    loss += m.loss, ce += m.ce, blocks += m.mean_blocks_run, skip += m.skip_pct;
    gate_reg += m.gate_reg, tokens += m.tokens;
    if (soft.empty()) soft.assign(m.block_soft.size(), 0.0);
    for (size_t i = 0; i < soft.size(); ++i) soft[i] += m.block_soft[i];
    ++n;
  }
  double avg(double v) const { return n ? v / n : 0.0; }
};

// True when `dir` is this run's --out as a run killed before its first checkpoint leaves
// it: absent, or holding nothing but the logs, best/ and temps the trainer writes first.
bool killed_before_first_checkpoint(const std::string& dir, const std::string& out_dir) {
  std::error_code ec, ec2;
  if (!fs::exists(dir)) {
    const fs::path a = fs::weakly_canonical(dir, ec), b = fs::weakly_canonical(out_dir, ec2);
    return !ec && !ec2 && a == b;
  }
  if (!fs::equivalent(dir, out_dir, ec)) return false;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n != "training_log.csv" && n != "eval_log.csv" && n != "gate_log.csv" && n != "best" &&
        n.find(".tmp.") == std::string::npos)
      return false;
  }
  return !ec;
}

// Where --resume points: a checkpoint directory, or a run directory holding checkpoint/
// (or only final/: killed after its last step, or never checkpointed); "" when there is
// nothing to resume yet (killed_before_first_checkpoint): start at step 0.
std::string resolve_resume(const std::string& dir, const std::string& out_dir) {
  if (has_trainer_state(dir)) return dir;
  if (has_trainer_state(dir + "/checkpoint")) return dir + "/checkpoint";
  if (has_trainer_state(dir + "/final")) return dir + "/final";
  if (killed_before_first_checkpoint(dir, out_dir)) return "";
  fail("--resume ", dir, ": no trainer_state.json/.safetensors there or in ", dir, "/checkpoint");
}

// The first key whose value differs between two identity_json objects ("" if none).
std::string first_difference(const Json& a, const Json& b) {
  for (auto it = a.begin(); it != a.end(); ++it)
    if (!b.contains(it.key()) || b[it.key()] != it.value()) return it.key();
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) return it.key();
  return "";
}

class Trainer {
 public:
  explicit Trainer(TrainConfig cfg) : cfg_(std::move(cfg)) {}
  Json run();

 private:
  void load();
  Batch next_batch();
  Mean evaluate();
  void save(const std::string& name, bool with_state);
  LrScheduleConfig schedule() const {
    return {cfg_.schedule, cfg_.lr, cfg_.warmup_steps, cfg_.max_steps, cfg_.t_max};
  }

  TrainConfig cfg_;
  std::string resume_from_;
  ModelConfig mc_;
  std::unique_ptr<TrainWeights> w_;
  std::optional<LoraWeights> lora_;
  std::optional<RouterWeights> routers_;
  std::unique_ptr<TrainGraph> g_;
  std::vector<Param> ps_;
  std::unique_ptr<AdamW> opt_;
  TrainData data_;
  TrainerState st_;
  std::vector<uint32_t> order_;
  int32_t pad_id_ = 0;
  Json summary_;
  double load_s_ = 0, eval_s_ = 0;
};

void Trainer::load() {
  Timer t;
  cfg_.validate();
  check_data_specs(cfg_.data);  // cheap: fail on a bad --data before loading anything
  if (!cfg_.resume_dir.empty()) resume_from_ = resolve_resume(cfg_.resume_dir, cfg_.out_dir);
  if (!resume_from_.empty()) {
    const std::string where = resume_from_ + "/trainer_state.json";
    const TrainerState prev = TrainerState::from_json(read_json_file(where), where);
    const std::string diff = first_difference(prev.config, cfg_.identity_json());
    LR_CHECK(diff.empty(), "--resume ", cfg_.resume_dir, ": the checkpoint was trained with ", diff,
             " = ", prev.config.value(diff, Json()).dump(), ", this run has ",
             cfg_.identity_json().value(diff, Json()).dump());
  } else if (cfg_.resume_dir.empty() && fs::exists(cfg_.out_dir)) {
    LR_CHECK(fs::is_directory(cfg_.out_dir) && fs::is_empty(cfg_.out_dir), "--out ", cfg_.out_dir,
             ": exists and is not empty (use --resume ", cfg_.out_dir,
             " to continue that run, or another --out)");
  }
  set_num_threads(cfg_.threads);
  mc_ = ModelConfig::load(cfg_.model_dir);
  w_ =
      std::make_unique<TrainWeights>(TrainWeights::load(mc_, Checkpoint::open_dir(cfg_.model_dir)));
  const Tokenizer tok = Tokenizer::load(cfg_.model_dir);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(cfg_.model_dir);
  LR_CHECK(tok.vocab_size() <= size_t(mc_.vocab), cfg_.model_dir, ": the tokenizer has ",
           tok.vocab_size(), " ids, the model's vocabulary ", mc_.vocab);
  if (!mc_.eos_ids.empty()) pad_id_ = mc_.eos_ids[0];  // any id: pad positions are masked
  data_ = prepare_data(cfg_, tok, tmpl);

  if (cfg_.use_lora()) lora_ = LoraWeights::init(mc_, cfg_.lora, mix_key(cfg_.seed, 0x10A4));
  if (cfg_.routers) routers_ = RouterWeights::init(mc_);
  TrainOptions o;
  o.trainable = cfg_.full ? Trainable::All : Trainable::LoraRouters;
  o.gate_mode = cfg_.routers ? TrainGate::Hard : TrainGate::AllOpen;
  o.pooling = cfg_.pooling;
  o.router_loss = cfg_.router_loss;
  o.lambda = cfg_.gate_reg;
  o.threshold = cfg_.threshold;
  o.seed = cfg_.seed;
  o.frozen_matmul = cfg_.frozen_bf16() ? ops::FrozenMatmul::BF16 : ops::FrozenMatmul::F32;
  g_ = std::make_unique<TrainGraph>(*w_, lora_ ? &*lora_ : nullptr, routers_ ? &*routers_ : nullptr,
                                    o);
  ps_ = g_->params();
  AdamWConfig ac;
  ac.weight_decay = float(cfg_.weight_decay);
  opt_ = std::make_unique<AdamW>(ps_, ac);
  st_.seed = cfg_.seed;
  st_.config = cfg_.identity_json();
  if (!resume_from_.empty()) {
    const LoadedAdapter a = load_adapter_dir(resume_from_, mc_);
    LR_CHECK(bool(a.lora) == bool(lora_) && bool(a.routers) == bool(routers_), resume_from_,
             ": adapters do not match this run's settings");
    if (lora_) lora_->adapters = a.lora->adapters;
    if (routers_) *routers_ = *a.routers;
    if (cfg_.full) {
      const Checkpoint ck = Checkpoint::open_dir(resume_from_);
      for (TensorSlot& s : w_->tensors()) {
        const std::vector<float> v = ck.load_f32(s.name, s.shape);
        std::copy(v.begin(), v.end(), s.data);
      }
    }
    st_ = load_trainer_state(resume_from_, ps_, *opt_);
    LR_CHECK(st_.seed == cfg_.seed, resume_from_, ": seed mismatch");
  }
  order_ = epoch_order(data_.train.size(), cfg_.seed, st_.epoch);
  load_s_ = t.seconds();
}

// The next micro-batch in this epoch's order; a short last batch ends the epoch.
Batch Trainer::next_batch() {
  const size_t n = data_.train.size();
  if (st_.pos >= n) {
    ++st_.epoch;
    st_.pos = 0;
    order_ = epoch_order(n, cfg_.seed, st_.epoch);
  }
  std::vector<const TokenizedSample*> rows;
  for (size_t i = 0; i < size_t(cfg_.batch_size) && st_.pos < n; ++i)
    rows.push_back(&data_.train[order_[st_.pos++]]);
  return make_batch(rows, pad_id_);
}

// The first eval_batches batches of the validation split, in its fixed order, no dropout.
Mean Trainer::evaluate() {
  Timer t;
  Mean m;
  const size_t n = data_.val.size(), bs = size_t(cfg_.batch_size);
  for (size_t b = 0; b * bs < n && m.n < cfg_.eval_batches; ++b) {
    std::vector<const TokenizedSample*> rows;
    for (size_t i = b * bs; i < std::min(n, (b + 1) * bs); ++i) rows.push_back(&data_.val[i]);
    RunOptions run;
    run.dropout = false;
    run.need_grad = false;
    m.add(g_->forward(make_batch(rows, pad_id_), run));
  }
  eval_s_ += t.seconds();
  return m;
}

void Trainer::save(const std::string& name, bool with_state) {
  AdapterToSave a;
  a.model = &mc_;
  a.base_model = cfg_.model_dir;
  a.lora = lora_ ? &*lora_ : nullptr;
  a.routers = routers_ ? &*routers_ : nullptr;
  a.full = cfg_.full ? w_.get() : nullptr;
  a.tokenizer_from = cfg_.model_dir;
  a.routing = {cfg_.threshold, cfg_.pooling};
  a.train_config = cfg_.to_json();
  publish_dir(cfg_.out_dir + "/" + name, [&](const std::string& dir) {
    save_adapter_files(dir, a);
    if (with_state) {
      st_.lr_schedule = {{"kind", schedule_name(cfg_.schedule)},
                         {"base", cfg_.lr},
                         {"warmup", cfg_.warmup_steps},
                         {"total", cfg_.max_steps},
                         {"t_max", cfg_.t_max},
                         {"next_lr", lr_at(schedule(), st_.step)}};
      save_trainer_state(dir, st_, ps_, *opt_);
    }
  });
}

Json Trainer::run() {
  Timer total_t;
  load();
  if (cfg_.schedule == LrSchedule::WarmupCosine && cfg_.warmup_steps >= cfg_.max_steps)
    std::cerr << "warning: --warmup-steps " << cfg_.warmup_steps << " >= --max-steps "
              << cfg_.max_steps << ": the lr never reaches --lr\n";
  fs::create_directories(cfg_.out_dir);
  remove_stale_temps(cfg_.out_dir);

  const size_t n_lora = lora_ ? lora_->num_params() : 0;
  const size_t n_router = routers_ ? routers_->num_params() : 0;
  const size_t n_model = w_->num_params();
  const size_t n_train = n_lora + n_router + (cfg_.full ? n_model : 0);
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.2f%%", 100.0 * double(n_train) / double(n_model));
  std::string line = "trainable: ";
  if (cfg_.full) line += "model " + format_count(n_model) + " + ";
  if (lora_) line += "LoRA " + format_count(n_lora) + " + ";
  line += "routers " + format_count(n_router) + " = " + format_count(n_train) + " (" + pct +
          " of " + format_count(n_model) + ")";
  std::cout << line << "\n"
            << "data: " << data_.train.size() << " train / " << data_.val.size()
            << " validation samples; " << cfg_.max_steps << " optimizer steps of "
            << cfg_.grad_accum << " x " << cfg_.batch_size << " samples"
            << (!resume_from_.empty()
                    ? "; resuming from " + resume_from_ + " at step " + std::to_string(st_.step)
                : cfg_.resume_dir.empty()
                    ? ""
                    : "; no checkpoint in " + cfg_.resume_dir + " yet: starting at step 0")
            << std::endl;

  const int L = mc_.n_layers;
  const int64_t keep = resume_from_.empty() ? -1 : st_.step;
  const std::string out = cfg_.out_dir + "/";
  CsvLog tlog(out + "training_log.csv",
              {"step", "loss", "ppl", "layers_run", "skip_pct", "gate_reg", "lr", "elapsed_s"},
              keep);
  CsvLog elog(out + "eval_log.csv",
              {"step", "val_loss", "val_ppl", "val_layers_run", "val_skip_pct"}, keep);
  std::vector<std::string> gh{"step"};
  for (int l = 0; l < L; ++l) gh.push_back("gate_" + std::to_string(l));
  CsvLog glog(out + "gate_log.csv", gh, keep);

  Progress progress(cfg_.max_steps, st_.step, cfg_.log_every);
  Timer train_t;
  const double train_s0 = st_.train_s;
  const int64_t step0 = st_.step;
  uint64_t tokens_here = 0;
  Mean last;
  while (st_.step < cfg_.max_steps) {
    zero_grad(ps_);
    Mean m;
    for (int k = 0; k < cfg_.grad_accum; ++k) {
      RunOptions run;
      run.step = uint64_t(st_.micro_step);  // keys this micro-step's dropout masks
      run.loss_scale = 1.f / float(cfg_.grad_accum);
      m.add(g_->forward(next_batch(), run));
      g_->backward();
      ++st_.micro_step;
    }
    clip_grad_norm(ps_, cfg_.max_grad_norm);
    const double lr = lr_at(schedule(), st_.step);
    opt_->step(ps_, float(lr));
    ++st_.step;
    st_.tokens += uint64_t(m.tokens);
    tokens_here += uint64_t(m.tokens);
    st_.train_s = train_s0 + train_t.seconds();
    last = m;

    tlog.row({double(st_.step), m.avg(m.loss), std::exp(m.avg(m.ce)), m.avg(m.blocks),
              m.avg(m.skip), m.avg(m.gate_reg), lr, st_.train_s});
    std::vector<double> gates{double(st_.step)};
    for (double s : m.soft) gates.push_back(s / m.n);
    glog.row(gates);
    progress.update(st_.step, m.avg(m.loss), m.avg(m.skip),
                    double(tokens_here) / std::max(train_t.seconds(), 1e-9), lr, st_.train_s);

    const bool last_step = st_.step == cfg_.max_steps;
    const bool eval_due =
        st_.micro_step / cfg_.eval_every > (st_.micro_step - cfg_.grad_accum) / cfg_.eval_every;
    if (!data_.val.empty() && (eval_due || last_step)) {
      const Mean e = evaluate();
      const double vl = e.avg(e.loss);
      elog.row({double(st_.step), vl, std::exp(e.avg(e.ce)), e.avg(e.blocks), e.avg(e.skip)});
      char buf[160];
      std::snprintf(buf, sizeof buf, "step %lld: val_loss %.4f val_ppl %.3f skip %.1f%%%s",
                    static_cast<long long>(st_.step), vl, std::exp(e.avg(e.ce)), e.avg(e.skip),
                    vl < st_.best_val ? " (best)" : "");
      progress.message(buf);
      if (vl < st_.best_val) {
        st_.best_val = vl;
        st_.best_step = st_.step;
        save("best", false);
      }
    }
    if (st_.step % cfg_.save_every == 0 && !last_step) {
      save("checkpoint", true);
      // Test hook: die as a kill -9 would, right after the checkpoint landed.
      if (cfg_.stop_after_steps == st_.step) std::raise(SIGKILL);
    }
  }
  progress.finish();
  save("final", true);
  const double train_here = train_t.seconds();

  Json s;
  s["layerroute_version"] = "0.1.0";
  s["params"] = {{"lora", n_lora},
                 {"routers", n_router},
                 {"model", n_model},
                 {"trainable", n_train},
                 {"trainable_pct", 100.0 * double(n_train) / double(n_model)}};
  s["steps"] = {{"optimizer", st_.step},
                {"micro", st_.micro_step},
                {"epochs", st_.epoch},
                {"resumed_from_step", resume_from_.empty() ? Json(nullptr) : Json(step0)}};
  s["timings_s"] = {{"load_and_tokenize", load_s_},
                    {"train_this_session", train_here},
                    {"train_total", st_.train_s},
                    {"eval", eval_s_},
                    {"total_this_session", total_t.seconds()}};
  s["tokens"] = {{"trained", st_.tokens},
                 {"per_second_this_session", double(tokens_here) / std::max(train_here, 1e-9)}};
  s["best"] = {{"val_loss", std::isfinite(st_.best_val) ? Json(st_.best_val) : Json(nullptr)},
               {"step", st_.best_step}};
  s["final_train"] = {{"loss", last.avg(last.loss)},
                      {"ppl", std::exp(last.avg(last.ce))},
                      {"skip_pct", last.avg(last.skip)}};
  s["threads"] = num_threads();
  s["data"] = data_.to_json();
  s["config"] = cfg_.to_json();
  write_file_atomic(out + "run_summary.json", s.dump(2) + "\n");
  std::cout << "done: " << st_.step << " steps; adapters in " << out << "final";
  if (std::isfinite(st_.best_val))
    std::cout << ", best val_loss " << st_.best_val << " (step " << st_.best_step << ") in " << out
              << "best";
  std::cout << std::endl;
  return s;
}

}  // namespace

Json run_training(TrainConfig cfg) {
  return Trainer(std::move(cfg)).run();
}

}  // namespace lr
