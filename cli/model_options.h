#pragma once
// Options shared by the commands that run the model.
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "model/forward.h"
#include "model/linear.h"

namespace lr::cli {

struct ModelOptions {
  std::string model;
  int threads = 0;
  std::string weights_dtype = "auto";
};

void add_model_options(CLI::App* sub, ModelOptions* o);
// "auto" keeps a bf16 checkpoint in bf16 (lossless, half the bytes per decoded token) and
// anything else (f32, f16: bf16 would round them) in f32.
WeightsDType parse_weights_dtype(const std::string& s, const std::string& model_dir);
const char* weights_dtype_name(WeightsDType d);
// "1,2,3" -> ids; throws naming the bad element.
std::vector<int> parse_ids(const std::string& s);

// --adapters, --gates, --no-lora: routed inference for generate, logits and bench.
struct RouteOptionsCli {
  std::string adapters;
  std::string gates;  // empty: router when routers are loaded, else all blocks
  bool no_lora = false;
  bool active() const { return !adapters.empty() || !gates.empty(); }
};

void add_route_options(CLI::App* sub, RouteOptionsCli* o);
// Checks the flags' syntax before anything is loaded (a bad --gates fails in one line).
void check_route_options(const RouteOptionsCli& o);

// Adapters and routing for one model, as the flags ask; outlives the sessions built on it.
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

// nullptr when no routing flag is given: the plain model path, exactly as before.
std::unique_ptr<RouteSetup> make_route_setup(const RouteOptionsCli& o, const Model& model);

// The plain InferenceSession, or a RoutedSession when a setup is given: one interface for
// the commands' measurement and sampling loops.
class ModelSession {
 public:
  ModelSession(const Model& model, const RouteSetup* setup, int max_T, int max_chunk = 256);
  std::span<const float> prefill(std::span<const int> ids, bool all_positions = false);
  std::span<const float> decode(int id);
  void reset();
  RoutedSession* routed() { return routed_ ? &*routed_ : nullptr; }

 private:
  std::optional<InferenceSession> plain_;
  std::optional<RoutedSession> routed_;
};

}  // namespace lr::cli
