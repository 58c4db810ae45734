#pragma once
// Every knob of a training run (DESIGN.md §5; defaults = the reference's recipe), with its
// JSON form (saved in layerroute_config.json and trainer_state.json, compared on resume).
#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"
#include "layerroute/lora.h"
#include "layerroute/lr_schedule.h"
#include "layerroute/router.h"
#include "layerroute/train_graph.h"
#include "text/dataset.h"

namespace lr {

struct TrainConfig {
  std::string model_dir, out_dir, resume_dir;
  std::vector<std::string> data;  // "format:FILE"

  int64_t max_steps = 750;  // optimizer steps
  int batch_size = 4, grad_accum = 4;
  double lr = 2e-4;
  LrSchedule schedule = LrSchedule::WarmupCosine;
  int64_t warmup_steps = 100, t_max = 3000;
  double weight_decay = 0.01, max_grad_norm = 1.0;
  int max_seq_len = 512;
  size_t max_samples_per_dataset = 5000;
  double val_fraction = 0.1;
  uint64_t seed = 42;
  int threads = 0;
  int64_t eval_every = 200;  // micro-steps
  int eval_batches = 30;
  int64_t save_every = 50;  // optimizer steps
  int64_t log_every = 10;   // optimizer steps between progress lines when stderr is no TTY

  bool full = false;      // every model weight trainable (no LoRA)
  bool routers = true;    // false: every block always runs
  LoraConfig lora;        // rank 0 = no LoRA
  float gate_reg = 1.0f;  // lambda
  float threshold = 0.5f;
  RouterLoss router_loss = RouterLoss::GateReg;
  RouterPooling pooling = RouterPooling::MaskedMean;
  LossOn loss_on = LossOn::All;
  // The frozen backbone's GEMMs: "auto" (bf16 where the CPU has AVX512-BF16, else f32),
  // "bf16" (an error on a CPU without it) or "f32" (every GEMM exact f32).
  std::string frozen_matmul = "auto";

  int64_t stop_after_steps = 0;  // test only: SIGKILL itself right after the checkpoint at k

  bool use_lora() const { return !full && lora.rank > 0; }
  // frozen_matmul resolved on this CPU (and LR_CPU): true for bf16.
  bool frozen_bf16() const;
  // Throws lr::Error naming the flag for out-of-range values.
  void validate() const;
  Json to_json() const;
  // The settings a resumed run must share with the checkpoint for bit-identical results.
  Json identity_json() const;
};

// A --frozen-matmul value on this CPU (and LR_CPU): true for bf16. Throws lr::Error for an
// unknown value, and for "bf16" where the kernel path has no AVX512-BF16.
bool resolve_frozen_bf16(const std::string& mode);

// "--preset reference": the reference's schedule (cosine T_max 3000 stepped per optimizer
// step, no warm-up) over 750 optimizer steps (its 3000 micro-steps).
void apply_reference_preset(TrainConfig* cfg, bool keep_max_steps);

// Enum spellings used by the CLI and the JSON files; parse_* throw naming the flag.
const char* router_loss_name(RouterLoss l);
const char* pooling_name(RouterPooling p);
const char* loss_on_name(LossOn l);
const char* schedule_name(LrSchedule s);
RouterLoss parse_router_loss(const std::string& s);
RouterPooling parse_pooling(const std::string& s);
LossOn parse_loss_on(const std::string& s);
std::vector<LoraTarget> parse_lora_targets(const std::string& s);

}  // namespace lr
