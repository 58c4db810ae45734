#pragma once
// Routed inference for one sequence: InferenceSession's interface (prefill = one step,
// decode under that step's gates) on top of a one-row RoutedBatch, so single sequences and
// batches share one implementation of the routing semantics.
#include <span>
#include <string>
#include <vector>

#include "layerroute/routed_batch.h"

namespace lr {

class RoutedSession {
 public:
  RoutedSession(const Model& model, const RouterWeights* router, RouteOptions opt, int max_T,
                int max_chunk = 256)
      : b_(model, router, std::move(opt), 1, max_T, max_chunk) {}

  // One step: appends ids, decides the gates block by block; logits of the last position
  // [vocab] or of every new position [n, vocab].
  std::span<const float> prefill(std::span<const int> ids, bool all_positions = false);
  std::span<const float> decode(int id);

  void set_gates(const GateSpec& g) { b_.set_gates(g); }  // from the next step on
  void set_lora(const LowRankDeltas* d) { b_.set_lora(d); }

  const std::vector<unsigned char>& gates() const { return b_.gates(0); }
  const std::vector<float>& soft() const { return b_.soft(0); }
  int blocks_run() const { return b_.blocks_run(0); }
  std::string gate_string() const { return lr::gate_string(gates()); }
  int pos() const { return b_.pos(0); }
  const RouteCounters& counters() const { return b_.counters(); }
  void reset_counters() { b_.reset_counters(); }
  void reset() { b_.reset(); }
  const Model& model() const { return b_.model(); }

 private:
  RoutedBatch b_;
};

}  // namespace lr
