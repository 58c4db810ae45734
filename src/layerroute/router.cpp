#include "layerroute/router.h"

#include <cmath>
#include <string>

namespace lr {

std::pair<int, int> router_middle_band(int L) {
  return {int(std::lround(8.0 * L / 24.0)), int(std::lround(16.0 * L / 24.0))};
}

double router_logit(const float* w, float b, const double* pool_sum, double count, int H) {
  double z = 0;
  for (int i = 0; i < H; ++i) z += double(w[i]) * pool_sum[i];
  return double(b) + z / count;
}

double router_logit(const float* w, float b, const float* pool_mean, int H) {
  double z = b;
  for (int i = 0; i < H; ++i) z += double(w[i]) * pool_mean[i];
  return z;
}

float router_soft(double z, double offset) {
  return float(1.0 / (1.0 + std::exp(-(z + offset))));
}

RouterWeights RouterWeights::zeros(const ModelConfig& cfg) {
  RouterWeights r;
  r.n_layers = cfg.n_layers;
  r.hidden = cfg.hidden;
  r.w.assign(size_t(cfg.n_layers) * size_t(cfg.hidden), 0.f);
  r.b.assign(size_t(cfg.n_layers), 0.f);
  return r;
}

RouterWeights RouterWeights::init(const ModelConfig& cfg) {
  RouterWeights r = zeros(cfg);
  auto [lo, hi] = router_middle_band(cfg.n_layers);
  for (int l = 0; l < cfg.n_layers; ++l) r.b[size_t(l)] = (l >= lo && l <= hi) ? -1.f : 1.f;
  return r;
}

std::vector<TensorSlot> RouterWeights::tensors() {
  std::vector<TensorSlot> out;
  for (int l = 0; l < n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".router.";
    out.push_back(TensorSlot{
        p + "weight", {1, hidden}, w.data() + size_t(l) * size_t(hidden), size_t(hidden)});
    out.push_back(TensorSlot{p + "bias", {1}, b.data() + l, 1});
  }
  return out;
}

}  // namespace lr
