#pragma once
// Wall-clock speed of routed inference against all blocks open, with the KV cache: the
// saving that is real at inference time (training cannot skip compute, inference must).
// Kept free of training headers: it runs the inference engine.
#include <string>
#include <vector>

#include "layerroute/adapters.h"
#include "layerroute/gates.h"

namespace lr::eval {

struct WallClock {
  bool measured = false;
  std::string note = "not measured";
  int prompts = 0, decode_tokens = 0, n_layers = 0;
  double prefill_tok_s_routed = 0, prefill_tok_s_all = 0;
  double decode_tok_s_routed = 0, decode_tok_s_all = 0;
  double mean_blocks_run = 0;    // per prompt, routed
  double predicted_speedup = 0;  // weights touched per token: all / routed
};

struct WallClockSetup {
  std::string model_dir;
  std::string adapters_dir;  // "" : the base model alone (then gates must be a mask)
  GateSpec gates;            // router (the adapters must hold routers) or mask:BITS
  bool no_lora = false;      // leave the adapters' LoRA out of both sides
  RouteDial dial;            // threshold / logit offset over the adapters' settings
  int decode_tokens = 16;
  int reps = 2;
};

// Prefills each prompt (one step: the gates are decided for it) then decodes `decode_tokens`
// greedily, gated as asked and with every block open (same LoRA on both sides), alternating
// the two and keeping the best of `reps`. Throws when the gates would close nothing by
// construction (open, or router without routers).
WallClock measure_wallclock(const WallClockSetup& setup,
                            const std::vector<std::vector<int>>& prompts);

}  // namespace lr::eval
