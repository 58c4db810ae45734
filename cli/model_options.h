#pragma once
// Options shared by the commands that run the model.
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eval/model_session.h"
#include "layerroute/adapters.h"
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
// "1,2,3" -> ids; throws naming the bad element.
std::vector<int> parse_ids(const std::string& s);

// --adapters, --gates, --no-lora and the speed-quality dial (--gate-threshold,
// --logit-offset, --skip-target with --calibration): routed inference for generate, chat,
// logits and bench.
struct RouteOptionsCli {
  std::string adapters;
  std::string gates;  // empty: router when routers are loaded, else all blocks
  bool no_lora = false;
  std::optional<float> gate_threshold;
  std::optional<double> logit_offset, skip_target;
  std::string calibration;  // FORMAT:FILE for --skip-target
  size_t calibration_samples = 32;
  bool active() const { return !adapters.empty() || !gates.empty(); }
  bool dial() const { return gate_threshold || logit_offset || skip_target; }
};

void add_route_options(CLI::App* sub, RouteOptionsCli* o);
// Checks the flags' syntax before anything is loaded (a bad --gates fails in one line).
void check_route_options(const RouteOptionsCli& o);
// The dial's flags alone (eval has its own --gates and --adapters).
void add_dial_options(CLI::App* sub, RouteOptionsCli* o, bool steps_option = true);
void check_dial_options(const RouteOptionsCli& o);

// Adapters and routing for one model, as the flags ask (eval/model_session.h).
using eval::ModelSession;
using eval::RouteSetup;

// nullptr when no routing flag is given: the plain model path, exactly as before. With
// --skip-target, calibrates the logit offset on --calibration (tokenized with model_dir's
// tokenizer) and prints the result on stderr.
std::unique_ptr<RouteSetup> make_route_setup(const RouteOptionsCli& o, const Model& model,
                                             const std::string& model_dir);

}  // namespace lr::cli
