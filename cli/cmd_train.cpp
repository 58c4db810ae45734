// `layerroute train`: LoRA + routers (or every weight) on agentic data; see
// src/train/trainer.h for what lands in --out.
#include "cli/commands.h"
#include "core/error.h"
#include "train/trainer.h"

namespace lr::cli {

void register_train(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "train",
      "Train LoRA adapters + per-block routers (straight-through gates) on agentic data.\n"
      "Writes OUT/final/ (adapters after the last step), OUT/best/ (lowest validation loss),\n"
      "OUT/checkpoint/ (latest periodic checkpoint, for --resume), training_log.csv,\n"
      "eval_log.csv, gate_log.csv and run_summary.json. Log steps are optimizer steps.");
  sub->option_defaults()->always_capture_default();
  static TrainConfig c;
  static std::string preset, schedule = "cosine", router_loss = "gate-reg", pooling = "masked-mean",
                             loss_on = "all", targets = "q,k,v,o";
  static bool no_routers = false;
  sub->add_option("--model", c.model_dir, "Base model directory (Hugging Face layout)")->required();
  sub->add_option("--data", c.data,
                  "Dataset FORMAT:FILE, repeatable; FORMAT one of hermes, glaive, gsm8k, "
                  "turing, messages")
      ->required();
  sub->add_option("--out", c.out_dir, "Output directory (must be new or empty unless --resume)")
      ->required();
  sub->add_option("--resume", c.resume_dir,
                  "Continue from a checkpoint directory, or a run directory's checkpoint/ "
                  "(final/ when it has none); --resume OUT of a run killed before its first "
                  "checkpoint starts it again");
  sub->add_option("--preset", preset,
                  "'reference': the reference's schedule (cosine T_max 3000 stepped per "
                  "optimizer step, no warm-up) over 750 optimizer steps (= its 3000 "
                  "micro-steps) unless --max-steps is given");
  auto* max_steps = sub->add_option("--max-steps", c.max_steps, "Optimizer steps");
  sub->add_option("--batch-size", c.batch_size, "Samples per micro-batch");
  sub->add_option("--grad-accum", c.grad_accum, "Micro-batches per optimizer step");
  sub->add_option("--lr", c.lr, "Peak learning rate (AdamW)");
  sub->add_option("--lr-schedule", schedule, "cosine (warm-up + cosine to 0), reference, constant");
  sub->add_option("--warmup-steps", c.warmup_steps, "Warm-up optimizer steps (cosine)");
  sub->add_option("--t-max", c.t_max, "Cosine period of the reference schedule");
  sub->add_option("--weight-decay", c.weight_decay, "AdamW decoupled weight decay");
  sub->add_option("--max-grad-norm", c.max_grad_norm, "Clip the global gradient norm to this");
  sub->add_option("--max-seq-len", c.max_seq_len, "Truncate samples to this many tokens");
  sub->add_option("--max-samples-per-dataset", c.max_samples_per_dataset,
                  "Samples read from each --data file (0 = all)");
  sub->add_option("--val-fraction", c.val_fraction, "Share of samples held out for validation");
  sub->add_option("--seed", c.seed, "Seed of the split, data order, LoRA init and dropout");
  sub->add_option("--threads", c.threads, "Compute threads (0 = all cores)");
  sub->add_option("--eval-every", c.eval_every, "Validate every this many micro-steps");
  sub->add_option("--eval-batches", c.eval_batches, "Validation batches per evaluation");
  sub->add_option("--save-every", c.save_every, "Write OUT/checkpoint every this many steps");
  sub->add_option("--log-every", c.log_every,
                  "Progress line every this many steps when stderr is not a terminal");
  sub->add_option("--lora-rank", c.lora.rank, "LoRA rank r (0 = no LoRA: routers only)");
  sub->add_option("--lora-alpha", c.lora.alpha, "LoRA alpha (scale alpha / r)");
  sub->add_option("--lora-dropout", c.lora.dropout, "Dropout on the LoRA input");
  sub->add_option("--lora-targets", targets, "Projections to adapt: q,k,v,o,gate,up,down");
  sub->add_option("--gate-reg", c.gate_reg, "lambda: weight of the router loss term");
  sub->add_option("--router-threshold", c.threshold,
                  "A block runs when its soft gate exceeds this");
  sub->add_option("--router-loss", router_loss, "gate-reg, bce-naive or bce-corrected");
  sub->add_option("--router-pooling", pooling,
                  "masked-mean (real tokens) or mean-all (padding too, as the reference)");
  sub->add_option("--loss-on", loss_on, "Tokens the LM loss covers: all or assistant");
  sub->add_flag("--full", c.full, "Train every model weight (+ routers) instead of LoRA");
  sub->add_option("--frozen-matmul", c.frozen_matmul,
                  "The frozen backbone's GEMMs: auto (bf16 x bf16 with f32 sums where the CPU "
                  "has AVX512-BF16, else f32), bf16, or f32 (all exact fp32)")
      ->capture_default_str();
  sub->add_flag("--no-routers", no_routers, "No routing: every block always runs");
  // Test hook for the resume test: SIGKILL right after the checkpoint at this step.
  sub->add_option("--stop-after-steps", c.stop_after_steps)->group("");
  registry().push_back({sub, [max_steps] {
                          TrainConfig cfg = c;
                          cfg.schedule = LrScheduleConfig::parse(schedule);
                          if (!preset.empty()) {
                            LR_CHECK(preset == "reference", "--preset: '", preset,
                                     "' is not 'reference'");
                            apply_reference_preset(&cfg, max_steps->count() > 0);
                          }
                          cfg.router_loss = parse_router_loss(router_loss);
                          cfg.pooling = parse_pooling(pooling);
                          cfg.loss_on = parse_loss_on(loss_on);
                          cfg.lora.targets = parse_lora_targets(targets);
                          cfg.routers = !no_routers;
                          run_training(cfg);
                          return 0;
                        }});
}

}  // namespace lr::cli
