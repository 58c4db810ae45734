#pragma once
// A model: its config and weights, shared read-only by every runner and session.
#include <string>

#include "model/config.h"
#include "model/weights.h"

namespace lr {

struct Model {
  ModelConfig config;
  ModelWeights weights;

  // DIR/config.json + model.safetensors (or the sharded index).
  static Model load(const std::string& dir, WeightsDType dtype = WeightsDType::F32);
};

}  // namespace lr
