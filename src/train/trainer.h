#pragma once
// The training run of DESIGN.md §5: model + tokenizer + chat template from --model, the
// datasets tokenized and split, micro-batches in a seeded order reshuffled every epoch,
// gradient accumulation, clipping, AdamW and the lr schedule, periodic validation.
//
// OUT/ after a run:
//   final/        adapters after the last step (+ trainer state: a run can be extended)
//   best/         adapters with the lowest validation loss so far
//   checkpoint/   the latest periodic checkpoint (adapters + trainer state), for --resume
//   training_log.csv  step,loss,ppl,layers_run,skip_pct,gate_reg,lr,elapsed_s (per optimizer step)
//   eval_log.csv      step,val_loss,val_ppl,val_layers_run,val_skip_pct
//   gate_log.csv      step,gate_0,...,gate_{L-1} (batch-mean soft gate per block)
//   run_summary.json  parameter counts, timings, best validation, data reports
// Steps in the logs are optimizer steps; validation runs after the optimizer step during
// which the micro-step count passes a multiple of eval_every. val_loss is the training
// objective (CE + lambda * router term) without dropout; val_ppl = exp(CE).
#include "io/json.h"
#include "train/train_config.h"

namespace lr {

// Runs to cfg.max_steps (from a checkpoint when cfg.resume_dir is set) and returns the
// run summary (also written to OUT/run_summary.json). Throws lr::Error before creating
// OUT when a flag, the model or a data file is bad.
Json run_training(TrainConfig cfg);

}  // namespace lr
