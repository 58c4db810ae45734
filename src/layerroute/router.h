#pragma once
// Per-block routers: soft = sigmoid(w . pool + b), one Linear(H, 1) per block.
#include <utility>
#include <vector>

#include "layerroute/params.h"
#include "model/config.h"

namespace lr {

enum class RouterPooling {
  MaskedMean,  // mean over the row's real tokens (default)
  MeanAll,     // mean over all T positions, padding included (the reference's behaviour)
};

// The band of blocks initialised closed (bias -1), inclusive: [round(8L/24), round(16L/24)],
// i.e. blocks 8..16 for the 24-block Qwen2.5-0.5B, scaled linearly with depth otherwise.
std::pair<int, int> router_middle_band(int n_layers);

// The one formula for a router's decision, used by training and by routed inference:
// z = b + w . pool (accumulated in double), soft = sigmoid(z), the gate is open iff
// soft > threshold. Inference keeps the pool as a running sum over `count` positions;
// training as the mean itself. `offset` is the speed-quality dial (RouteSettings::
// logit_offset): one global shift of every logit, soft = sigmoid(z + offset); 0 leaves the
// trained decision bit for bit.
double router_logit(const float* w, float b, const double* pool_sum, double count, int H);
double router_logit(const float* w, float b, const float* pool_mean, int H);
float router_soft(double z, double offset = 0.0);
inline bool gate_open(float soft, float threshold) {
  return soft > threshold;
}

struct RouterWeights {
  int n_layers = 0, hidden = 0;
  std::vector<float> w;  // [L, H]
  std::vector<float> b;  // [L]

  // w = 0; b = -1 inside the middle band, +1 outside.
  static RouterWeights init(const ModelConfig& cfg);
  static RouterWeights zeros(const ModelConfig& cfg);
  size_t num_params() const { return w.size() + b.size(); }
  // "model.layers.{i}.router.weight" [1, H] and ".bias" [1].
  std::vector<TensorSlot> tensors();
};

}  // namespace lr
