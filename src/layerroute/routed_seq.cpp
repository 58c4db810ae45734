#include "layerroute/routed_seq.h"

#include <algorithm>

namespace lr {

RoutedSeq::RoutedSeq(const ModelConfig& c, int max_T, GateSpec s)
    : cache(c.n_layers, c.kv_dim(), max_T), spec(std::move(s)) {
  reset();
  filled.assign(size_t(c.n_layers), 0);
  sums.assign(size_t(c.n_layers) * size_t(c.hidden), 0.0);
}

int RoutedSeq::blocks_run() const {
  return int(std::count(gates.begin(), gates.end(), 1));
}

void RoutedSeq::reset() {
  cache.reset();
  gates.clear();
  soft.clear();
  std::fill(filled.begin(), filled.end(), 0);
  std::fill(sums.begin(), sums.end(), 0.0);
  steps.clear();
}

}  // namespace lr
