#include "cli/model_options.h"

#include <charconv>
#include <cmath>
#include <iostream>

#include "core/error.h"
#include "eval/skip_calibration.h"
#include "io/safetensors.h"
#include "layerroute/gates.h"

namespace lr::cli {

void add_model_options(CLI::App* sub, ModelOptions* o) {
  sub->add_option("--model", o->model, "Hugging Face model directory")->required();
  sub->add_option("--threads", o->threads, "Compute threads (0: all cores)")->capture_default_str();
  sub->add_option("--weights-dtype", o->weights_dtype,
                  "In-memory weight storage for inference: auto (bf16 for a bf16 checkpoint, else "
                  "f32), f32, bf16 or q8 (int8, one scale per 32)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "f32", "bf16", "q8"}));
}

WeightsDType parse_weights_dtype(const std::string& s, const std::string& model_dir) {
  if (s == "f32") return WeightsDType::F32;
  if (s == "bf16") return WeightsDType::BF16;
  if (s == "q8") return WeightsDType::Q8;
  if (s == "auto") {
    const Checkpoint ck = Checkpoint::open_dir(model_dir);
    return ck.get("model.layers.0.self_attn.q_proj.weight").info->dtype == DType::BF16
               ? WeightsDType::BF16
               : WeightsDType::F32;
  }
  fail("--weights-dtype: unknown value '", s, "' (auto, f32, bf16, q8)");
}

std::vector<int> parse_ids(const std::string& s) {
  std::vector<int> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string part = s.substr(i, j - i);
    int v = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    LR_CHECK(ec == std::errc() && p == part.data() + part.size() && v >= 0, "--ids: '", part,
             "' is not a token id");
    ids.push_back(v);
    i = j + 1;
  }
  LR_CHECK(!ids.empty(), "--ids: empty");
  return ids;
}

void add_route_options(CLI::App* sub, RouteOptionsCli* o) {
  sub->add_option("--adapters", o->adapters,
                  "Adapter directory: PEFT LoRA and/or LayerRoute routers (router.safetensors)");
  sub->add_option("--gates", o->gates,
                  "Which blocks run: router (default with routers), open (all), or mask:BITS "
                  "(one 0/1 per block)");
  sub->add_flag("--no-lora", o->no_lora, "Ignore the adapters' LoRA (routers still apply)");
  add_dial_options(sub, o);
}

void add_dial_options(CLI::App* sub, RouteOptionsCli* o, bool steps_option) {
  sub->add_option("--gate-threshold", o->gate_threshold,
                  "Router threshold T in (0, 1): a block runs iff sigmoid(logit + offset) > T "
                  "(default: the adapters' stored threshold)");
  auto* off = sub->add_option("--logit-offset", o->logit_offset,
                              "Add X to every router logit: < 0 skips more blocks, > 0 fewer "
                              "(reuse the offset a --skip-target calibration printed)");
  sub->add_option("--skip-target", o->skip_target,
                  "Mean skip P % (0-100): bisects the logit offset so that the calibration "
                  "steps skip P % of the blocks on average (the nearest reachable skip when "
                  "P itself is not: the skip moves in jumps); prints the chosen offset")
      ->excludes(off);
  sub->add_option("--calibration", o->calibration,
                  "Calibration dataset FORMAT:FILE for --skip-target (hermes, glaive, gsm8k, "
                  "turing, messages)");
  if (steps_option)
    sub->add_option("--calibration-steps", o->calibration_samples,
                    "Calibration samples --skip-target uses")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
}

void check_dial_options(const RouteOptionsCli& o) {
  if (o.gate_threshold)
    LR_CHECK(*o.gate_threshold > 0.f && *o.gate_threshold < 1.f,
             "--gate-threshold must be in (0, 1), got ", *o.gate_threshold);
  if (o.logit_offset)
    LR_CHECK(std::isfinite(*o.logit_offset), "--logit-offset must be a finite number");
  if (o.skip_target) {
    LR_CHECK(*o.skip_target >= 0 && *o.skip_target <= 100,
             "--skip-target must be in [0, 100], got ", *o.skip_target);
  }
}

void check_route_options(const RouteOptionsCli& o) {
  if (!o.gates.empty()) (void)GateSpec::parse(o.gates);
  check_dial_options(o);
  if (o.dial()) {
    LR_CHECK(!o.adapters.empty(),
             "--gate-threshold, --logit-offset and --skip-target need --adapters with routers");
    const GateSpec g = o.gates.empty() ? GateSpec{} : GateSpec::parse(o.gates);
    LR_CHECK(g.mode == GateMode::Router,
             "--gate-threshold, --logit-offset and --skip-target act on the routers: not with "
             "--gates ",
             o.gates);
  }
  if (o.skip_target)
    LR_CHECK(!o.calibration.empty(), "--skip-target needs --calibration FORMAT:FILE");
  else
    LR_CHECK(o.calibration.empty(), "--calibration is only used by --skip-target");
}

std::unique_ptr<RouteSetup> make_route_setup(const RouteOptionsCli& o, const Model& model,
                                             const std::string& model_dir) {
  if (!o.active()) return nullptr;
  auto s = std::make_unique<RouteSetup>();
  if (!o.gates.empty()) s->opt.gates = GateSpec::parse(o.gates);
  s->opt.gates.check(model.config.n_layers);
  if (!o.adapters.empty()) {
    s->adapters.emplace(Adapters::load(o.adapters, model.config));
    s->opt.settings = s->adapters->settings;
    if (!o.no_lora) s->deltas = s->adapters->deltas();
  }
  if (o.dial()) {
    LR_CHECK(s->router(), o.adapters, ": no router.safetensors: the dial's flags need routers");
    RouteDial dial;
    if (o.gate_threshold) dial.threshold = *o.gate_threshold;
    if (o.logit_offset) dial.logit_offset = *o.logit_offset;
    s->opt.settings = dial.applied(s->opt.settings);
    if (o.skip_target) {
      const auto prompts =
          eval::calibration_prompts(o.calibration, model_dir, o.calibration_samples, 512);
      const eval::SkipCalibration c =
          eval::calibrate_skip(model, *s->router(), s->lora(), s->opt, prompts, *o.skip_target);
      s->opt.settings.logit_offset = c.logit_offset;
      std::cerr << c.describe() << "\n";
    }
  }
  return s;
}

}  // namespace lr::cli
