#pragma once
// AdamW as torch.optim.AdamW (decoupled decay p -= lr*wd*p before the Adam update, bias
// correction as torch computes it) and torch's clip_grad_norm_.
#include <cstdint>
#include <vector>

#include "layerroute/params.h"

namespace lr {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.01f;
};

class AdamW {
 public:
  // Moments are allocated for `params` (names and sizes fixed from here on).
  AdamW(const std::vector<Param>& params, const AdamWConfig& cfg = {});
  // One update with learning rate lr; params must match the constructor's list.
  void step(const std::vector<Param>& params, float lr);
  int64_t steps() const { return t_; }
  const AdamWConfig& config() const { return cfg_; }
  // Moments for saving/resuming, in params order.
  std::vector<std::vector<float>>& exp_avg() { return m_; }
  std::vector<std::vector<float>>& exp_avg_sq() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  AdamWConfig cfg_;
  int64_t t_ = 0;
  std::vector<std::vector<float>> m_, v_;
};

// Global L2 norm over every gradient (the norm of per-tensor norms, as torch); when it
// exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6). Returns the norm
// before clipping.
double clip_grad_norm(const std::vector<Param>& params, double max_norm);
void zero_grad(const std::vector<Param>& params);

}  // namespace lr
