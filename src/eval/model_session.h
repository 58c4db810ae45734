#pragma once
// The session the model commands measure and sample with: the plain InferenceSession, or a
// RoutedSession when a routing setup (adapters, gates) is given. One interface for
// generate, chat, logits and `bench`'s measurement loops.
#include <optional>
#include <span>
#include <string>

#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "model/forward.h"

namespace lr::eval {

// Adapters and routing for one model; outlives the sessions built on it.
struct RouteSetup {
  std::optional<Adapters> adapters;
  LowRankDeltas deltas;
  RouteOptions opt;
  const RouterWeights* router() const {
    return adapters && adapters->has_router ? &adapters->router : nullptr;
  }
  const LowRankDeltas* lora() const { return deltas.any_active() ? &deltas : nullptr; }
  std::string describe() const;  // one line for stderr
};

class ModelSession {
 public:
  // setup nullptr: the plain model path.
  ModelSession(const Model& model, const RouteSetup* setup, int max_T, int max_chunk = 256);
  std::span<const float> prefill(std::span<const int> ids, bool all_positions = false);
  std::span<const float> decode(int id);
  void reset();
  RoutedSession* routed() { return routed_ ? &*routed_ : nullptr; }

 private:
  std::optional<InferenceSession> plain_;
  std::optional<RoutedSession> routed_;
};

}  // namespace lr::eval
