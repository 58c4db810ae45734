#pragma once
// Wall-clock speed of routed inference against all blocks open, with the KV cache: the
// saving that is real at inference time (training cannot skip compute, inference must).
// Kept free of training headers: it runs the inference engine.
#include <string>
#include <vector>

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

// Prefills each prompt (one step: the routers decide the gates) then decodes
// `decode_tokens` greedily, routed and with every block open (LoRA on in both), alternating
// the two and keeping the best of `reps`. adapters_dir must hold routers.
WallClock measure_wallclock(const std::string& model_dir, const std::string& adapters_dir,
                            const std::vector<std::vector<int>>& prompts, int decode_tokens,
                            int reps = 2);

}  // namespace lr::eval
