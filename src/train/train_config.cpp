#include "train/train_config.h"

#include "core/cpu_features.h"
#include "core/error.h"

namespace lr {

const char* router_loss_name(RouterLoss l) {
  switch (l) {
    case RouterLoss::GateReg:
      return "gate-reg";
    case RouterLoss::BceNaive:
      return "bce-naive";
    case RouterLoss::BceCorrected:
      return "bce-corrected";
  }
  return "?";
}

const char* pooling_name(RouterPooling p) {
  return p == RouterPooling::MaskedMean ? "masked-mean" : "mean-all";
}

const char* loss_on_name(LossOn l) {
  return l == LossOn::All ? "all" : "assistant";
}

const char* schedule_name(LrSchedule s) {
  switch (s) {
    case LrSchedule::WarmupCosine:
      return "cosine";
    case LrSchedule::Reference:
      return "reference";
    case LrSchedule::Constant:
      return "constant";
  }
  return "?";
}

RouterLoss parse_router_loss(const std::string& s) {
  for (RouterLoss l : {RouterLoss::GateReg, RouterLoss::BceNaive, RouterLoss::BceCorrected})
    if (s == router_loss_name(l)) return l;
  fail("--router-loss: '", s, "' is not one of gate-reg, bce-naive, bce-corrected");
}

RouterPooling parse_pooling(const std::string& s) {
  for (RouterPooling p : {RouterPooling::MaskedMean, RouterPooling::MeanAll})
    if (s == pooling_name(p)) return p;
  fail("--router-pooling: '", s, "' is not one of masked-mean, mean-all");
}

LossOn parse_loss_on(const std::string& s) {
  if (s == "all") return LossOn::All;
  if (s == "assistant") return LossOn::Assistant;
  fail("--loss-on: '", s, "' is not one of all, assistant");
}

std::vector<LoraTarget> parse_lora_targets(const std::string& s) {
  std::vector<LoraTarget> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = std::min(s.find(',', start), s.size());
    const std::string name = s.substr(start, comma - start);
    LoraTarget t;
    LR_CHECK(parse_lora_target(name, &t), "--lora-targets: unknown target '", name,
             "' (q, k, v, o, gate, up, down)");
    for (LoraTarget u : out) LR_CHECK(u != t, "--lora-targets: '", name, "' given twice");
    out.push_back(t);
    start = comma + 1;
  }
  return out;
}

void apply_reference_preset(TrainConfig* c, bool keep_max_steps) {
  c->schedule = LrSchedule::Reference;
  c->t_max = 3000;
  if (!keep_max_steps) c->max_steps = 750;
}

void TrainConfig::validate() const {
  LR_CHECK(!data.empty(), "--data: at least one dataset is required");
  LR_CHECK(max_steps >= 1, "--max-steps must be >= 1 (got ", max_steps, ")");
  LR_CHECK(batch_size >= 1, "--batch-size must be >= 1 (got ", batch_size, ")");
  LR_CHECK(grad_accum >= 1, "--grad-accum must be >= 1 (got ", grad_accum, ")");
  LR_CHECK(lr > 0, "--lr must be > 0 (got ", lr, ")");
  LR_CHECK(warmup_steps >= 0, "--warmup-steps must be >= 0");
  LR_CHECK(t_max >= 1, "--t-max must be >= 1");
  LR_CHECK(weight_decay >= 0, "--weight-decay must be >= 0");
  LR_CHECK(max_grad_norm > 0, "--max-grad-norm must be > 0");
  LR_CHECK(max_seq_len >= 2, "--max-seq-len must be >= 2 (got ", max_seq_len, ")");
  LR_CHECK(val_fraction >= 0 && val_fraction < 1, "--val-fraction must be in [0, 1)");
  LR_CHECK(eval_every >= 1, "--eval-every must be >= 1");
  LR_CHECK(eval_batches >= 1, "--eval-batches must be >= 1");
  LR_CHECK(save_every >= 1, "--save-every must be >= 1");
  LR_CHECK(log_every >= 1, "--log-every must be >= 1");
  LR_CHECK(lora.rank >= 0, "--lora-rank must be >= 0");
  LR_CHECK(lora.alpha > 0, "--lora-alpha must be > 0");
  LR_CHECK(lora.dropout >= 0 && lora.dropout < 1, "--lora-dropout must be in [0, 1)");
  LR_CHECK(!lora.targets.empty(), "--lora-targets: no target");
  LR_CHECK(threshold > 0 && threshold < 1, "--router-threshold must be in (0, 1)");
  LR_CHECK(gate_reg >= 0, "--gate-reg must be >= 0");
  LR_CHECK(full || routers || use_lora(), "nothing to train: --no-routers with --lora-rank 0");
  resolve_frozen_bf16(frozen_matmul);
}

bool resolve_frozen_bf16(const std::string& mode) {
  LR_CHECK(mode == "auto" || mode == "bf16" || mode == "f32",
           "--frozen-matmul must be auto, bf16 or f32, not '", mode, "'");
  const bool has = cpu_path() >= CpuPath::Avx512Bf16;
  LR_CHECK(mode != "bf16" || has, "--frozen-matmul bf16: this CPU's kernel path is ",
           cpu_path_name(cpu_path()), " (no AVX512-BF16); use auto or f32");
  return mode != "f32" && has;
}

bool TrainConfig::frozen_bf16() const {
  return !full && resolve_frozen_bf16(frozen_matmul);
}

Json TrainConfig::to_json() const {
  Json j;
  j["model"] = model_dir;
  j["data"] = data;
  j["max_steps"] = max_steps;
  j["batch_size"] = batch_size;
  j["grad_accum"] = grad_accum;
  j["lr"] = lr;
  j["lr_schedule"] = schedule_name(schedule);
  j["warmup_steps"] = warmup_steps;
  j["t_max"] = t_max;
  j["weight_decay"] = weight_decay;
  j["max_grad_norm"] = max_grad_norm;
  j["max_seq_len"] = max_seq_len;
  j["max_samples_per_dataset"] = max_samples_per_dataset;
  j["val_fraction"] = val_fraction;
  j["seed"] = seed;
  j["threads"] = threads;
  j["eval_every"] = eval_every;
  j["eval_batches"] = eval_batches;
  j["save_every"] = save_every;
  j["trainable"] = full ? "all" : (use_lora() ? (routers ? "lora+routers" : "lora") : "routers");
  j["routers"] = routers;
  j["frozen_matmul"] = frozen_bf16() ? "bf16" : "f32";
  j["lora_rank"] = use_lora() ? lora.rank : 0;
  j["lora_alpha"] = lora.alpha;
  j["lora_dropout"] = lora.dropout;
  Json t = Json::array();
  for (LoraTarget x : lora.targets) t.push_back(lora_target_name(x));
  j["lora_targets"] = t;
  j["gate_reg"] = gate_reg;
  j["router_threshold"] = threshold;
  j["router_loss"] = router_loss_name(router_loss);
  j["router_pooling"] = pooling_name(pooling);
  j["loss_on"] = loss_on_name(loss_on);
  return j;
}

Json TrainConfig::identity_json() const {
  Json j = to_json();
  // These may change between a run and its resumption without changing the result
  // (threads only changes the float summation order: same-thread resumes are bit-exact).
  for (const char* k : {"model", "threads", "eval_every", "eval_batches", "save_every"}) j.erase(k);
  return j;
}

}  // namespace lr
