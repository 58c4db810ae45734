#pragma once
// What a resumed run needs beyond the adapters: optimizer moments
// (trainer_state.safetensors: "exp_avg.NAME", "exp_avg_sq.NAME" per trainable tensor) and
// counters (trainer_state.json). Randomness is counter-based (dropout keyed by the
// micro-step, data order by (seed, epoch)), so (seed, micro_step, epoch, pos) is the whole
// RNG state.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "io/json.h"
#include "layerroute/adamw.h"
#include "layerroute/params.h"

namespace lr {

struct TrainerState {
  int64_t step = 0;        // optimizer steps done
  int64_t micro_step = 0;  // micro-batches done (keys the next dropout masks)
  int64_t epoch = 0;       // current pass over the training set
  uint64_t pos = 0;        // next index into epoch_order(n, seed, epoch)
  uint64_t seed = 0;
  double best_val = std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  double train_s = 0;   // training wall time so far (all sessions)
  uint64_t tokens = 0;  // real tokens trained on so far
  Json lr_schedule;     // the schedule and the lr of the next step, for the record
  Json config;          // TrainConfig::identity_json() of the run

  Json to_json() const;
  static TrainerState from_json(const Json& j, const std::string& where);
};

// Writes trainer_state.json + trainer_state.safetensors into `dir`.
void save_trainer_state(const std::string& dir, const TrainerState& st,
                        const std::vector<Param>& params, AdamW& opt);
// Reads them back; the moment names and sizes must match `params` (same run settings).
TrainerState load_trainer_state(const std::string& dir, const std::vector<Param>& params,
                                AdamW& opt);
bool has_trainer_state(const std::string& dir);

// Builds a directory atomically: `fill` writes into DIR.tmp.PID, which then replaces DIR
// (renameat2 RENAME_EXCHANGE when DIR exists, so DIR is never missing), and the old
// copy is removed.
void publish_dir(const std::string& dir, const std::function<void(const std::string&)>& fill);

}  // namespace lr
