#include "layerroute/adamw.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "layerroute/ops_util.h"

namespace lr {

AdamW::AdamW(const std::vector<Param>& params, const AdamWConfig& cfg) : cfg_(cfg) {
  for (const Param& p : params) {
    m_.emplace_back(p.numel, 0.f);
    v_.emplace_back(p.numel, 0.f);
  }
}

void AdamW::step(const std::vector<Param>& params, float lr) {
  LR_CHECK(params.size() == m_.size(), "AdamW: ", params.size(), " parameters, optimizer has ",
           m_.size());
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2;
  // torch (single-tensor path): step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps.
  const double bc1 = 1.0 - std::pow(double(b1), double(t_));
  const double bc2 = 1.0 - std::pow(double(b2), double(t_));
  const float step_size = float(double(lr) / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  for (size_t k = 0; k < params.size(); ++k) {
    const Param& p = params[k];
    LR_CHECK(p.numel == m_[k].size(), "AdamW: parameter ", p.name, " changed size");
    const float decay = p.decay ? 1.f - lr * cfg_.weight_decay : 1.f;
    float* m = m_[k].data();
    float* v = v_[k].data();
    ops::parallel_each(long(p.numel), [&](long i) {
      const float g = p.grad[i];
      p.data[i] *= decay;
      m[i] = b1 * m[i] + (1.f - b1) * g;  // torch lerp_: m + (1 - b1) (g - m)
      v[i] = b2 * v[i] + (1.f - b2) * g * g;
      const float denom = std::sqrt(v[i]) / bc2_sqrt + cfg_.eps;
      p.data[i] -= step_size * m[i] / denom;
    });
  }
}

double clip_grad_norm(const std::vector<Param>& params, double max_norm) {
  double total = 0;
  for (const Param& p : params) {
    double s = 0;
    for (size_t i = 0; i < p.numel; ++i) s += double(p.grad[i]) * p.grad[i];
    total += s;
  }
  const double norm = std::sqrt(total);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (const Param& p : params)
      for (size_t i = 0; i < p.numel; ++i) p.grad[i] = float(p.grad[i] * coef);
  return norm;
}

void zero_grad(const std::vector<Param>& params) {
  for (const Param& p : params) std::memset(p.grad, 0, sizeof(float) * p.numel);
}

}  // namespace lr
