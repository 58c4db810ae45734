#include "eval/wallclock.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "core/best_of.h"
#include "core/error.h"
#include "core/timer.h"
#include "kernels/cpu/argmax.h"
#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "model/forward.h"

namespace lr::eval {

namespace {

struct Timing {
  double prefill_s = 0, decode_s = 0;
  long prefill_tokens = 0, decode_tokens = 0;
  double blocks_run = 0;
};

Timing run_all(RoutedSession& s, const std::vector<std::vector<int>>& prompts, int n_decode) {
  Timing t;
  const int V = s.model().config.vocab;
  for (const auto& p : prompts) {
    s.reset();
    Timer tp;
    auto logits = s.prefill(p);
    t.prefill_s += tp.seconds();
    t.prefill_tokens += long(p.size());
    t.blocks_run += s.blocks_run();
    Timer td;
    for (int i = 0; i < n_decode; ++i) logits = s.decode(argmax(logits.data(), V));
    t.decode_s += td.seconds();
    t.decode_tokens += n_decode;
  }
  return t;
}

// Weights a token reads in one block (biases and norms are negligible).
double block_params(const ModelConfig& c) {
  return double(c.hidden) * (c.q_dim() + 2 * c.kv_dim()) + double(c.q_dim()) * c.hidden +
         3.0 * c.hidden * c.intermediate;
}

}  // namespace

WallClock measure_wallclock(const WallClockSetup& setup,
                            const std::vector<std::vector<int>>& prompts) {
  WallClock w;
  const int decode_tokens = setup.decode_tokens, reps = setup.reps;
  LR_CHECK(!prompts.empty(), "wall clock: no prompts");
  LR_CHECK(setup.gates.mode != GateMode::Open, "wall clock: --gates open closes no block");
  const Model model = Model::load(setup.model_dir);
  setup.gates.check(model.config.n_layers);
  std::optional<Adapters> ad;
  if (!setup.adapters_dir.empty()) ad.emplace(Adapters::load(setup.adapters_dir, model.config));
  const RouterWeights* router = ad && ad->has_router ? &ad->router : nullptr;
  LR_CHECK(setup.gates.mode != GateMode::Router || router, "wall clock: ",
           setup.adapters_dir.empty() ? std::string("no adapters") : setup.adapters_dir,
           ": no routers to measure");
  LowRankDeltas deltas;
  if (ad && !setup.no_lora) deltas = ad->deltas();
  int max_T = 0;
  for (const auto& p : prompts) max_T = std::max(max_T, int(p.size()));
  max_T += decode_tokens + 1;

  auto session = [&](const GateSpec& gates) {
    RouteOptions o;
    o.gates = gates;
    o.settings = setup.dial.applied(ad ? ad->settings : RouteSettings{});
    RoutedSession s(model, router, o, max_T);
    if (deltas.any_active()) s.set_lora(&deltas);
    return s;
  };
  RoutedSession routed = session(setup.gates), open = session(GateSpec::parse("open"));
  const auto [best_r, best_o] = best_of_alternating<Timing>(
      reps, 2, [&](int side) { return run_all(side == 0 ? routed : open, prompts, decode_tokens); },
      [](Timing& b, const Timing& t) {
        if (t.prefill_s < b.prefill_s)
          b.prefill_s = t.prefill_s, b.prefill_tokens = t.prefill_tokens;
        if (t.decode_s < b.decode_s) b.decode_s = t.decode_s, b.decode_tokens = t.decode_tokens;
      });
  const ModelConfig& c = model.config;
  w.measured = true;
  w.prompts = int(prompts.size());
  w.decode_tokens = decode_tokens;
  w.n_layers = c.n_layers;
  w.prefill_tok_s_routed = best_r.prefill_tokens / best_r.prefill_s;
  w.prefill_tok_s_all = best_o.prefill_tokens / best_o.prefill_s;
  w.decode_tok_s_routed = best_r.decode_tokens / std::max(best_r.decode_s, 1e-12);
  w.decode_tok_s_all = best_o.decode_tokens / std::max(best_o.decode_s, 1e-12);
  w.mean_blocks_run = best_r.blocks_run / double(prompts.size());
  const double outside = double(c.vocab) * c.hidden;  // the LM head: read for every token
  const double all = outside + c.n_layers * block_params(c);
  w.predicted_speedup = all / (outside + w.mean_blocks_run * block_params(c));
  w.note = "gates " + setup.gates.str() + (deltas.any_active() ? ", LoRA on" : ", no LoRA") +
           "; f32 weights, greedy decoding, best of " + std::to_string(std::max(1, reps)) +
           " alternating runs; predicted speed-up from the weights a token reads";
  return w;
}

}  // namespace lr::eval
