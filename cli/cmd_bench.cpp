// `layerroute bench`: prefill (128 and 512 tokens) and KV-cache decode speed on a model.
// Prompts are seeded random ids: speed does not depend on which tokens they are.
#include <algorithm>
#include <iostream>
#include <random>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/rss.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "model/forward.h"

namespace lr::cli {

namespace {

std::vector<int> random_ids(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> ids(n);
  for (int& id : ids) id = d(rng);
  return ids;
}

// Best of `reps` prefills of n tokens into a fresh cache, in tokens/s.
double prefill_tok_s(ModelSession& s, const std::vector<int>& ids, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    s.reset();
    Timer t;
    s.prefill(ids);
    best = std::min(best, t.seconds());
  }
  return ids.size() / best;
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "Measure prefill and decode tokens/s (KV cache)");
  static ModelOptions m;
  static RouteOptionsCli route_opts;
  static int reps = 3, decode_tokens = 128, decode_prompt = 512;
  static std::string json_out;
  add_model_options(sub, &m);
  add_route_options(sub, &route_opts);
  sub->add_option("--reps", reps, "Repetitions per prefill size (best is reported)")
      ->capture_default_str();
  sub->add_option("--decode-tokens", decode_tokens, "Tokens decoded after the prompt")
      ->capture_default_str();
  sub->add_option("--decode-prompt", decode_prompt, "Prompt length before decoding")
      ->capture_default_str();
  sub->add_option("--json", json_out, "Also write the figures as JSON");
  registry().push_back(
      {sub, [] {
         set_num_threads(m.threads);
         check_route_options(route_opts);
         Timer load_t;
         const Model model = Model::load(m.model, parse_weights_dtype(m.weights_dtype));
         const double load_s = load_t.seconds();
         const int V = model.config.vocab;
         const std::unique_ptr<RouteSetup> route = make_route_setup(route_opts, model);
         ModelSession s(model, route.get(), std::max(512, decode_prompt + decode_tokens + 1));
         if (route) std::cout << route->describe() << "\n";
         Json out;
         out["model"] = m.model;
         out["threads"] = num_threads();
         out["weights_dtype"] = m.weights_dtype;
         out["load_s"] = load_s;
         std::cout << "model " << m.model << " (" << model.config.n_layers << " blocks, hidden "
                   << model.config.hidden << ", vocab " << V << "), weights " << m.weights_dtype
                   << ", " << num_threads() << " threads\n";
         for (int n : {128, 512}) {
           const double tps = prefill_tok_s(s, random_ids(n, V, 1234 + n), reps);
           out["prefill_" + std::to_string(n) + "_tok_s"] = tps;
           std::cout << "prefill " << n << " tokens: " << tps << " tok/s\n";
         }
         s.reset();
         const auto prompt = random_ids(decode_prompt, V, 99);
         auto logits = s.prefill(prompt);
         int next = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
         Timer t;
         for (int i = 0; i < decode_tokens; ++i) {
           logits = s.decode(next);
           next = int(std::max_element(logits.begin(), logits.end()) - logits.begin());
         }
         const double dec = decode_tokens / t.seconds();
         out["decode_tok_s"] = dec;
         out["decode_after_prompt"] = decode_prompt;
         if (RoutedSession* rs = s.routed()) {  // the decode step's gates
           out["blocks_run"] = rs->blocks_run();
           out["gates"] = rs->gate_string();
           std::cout << "routed: blocks run " << rs->blocks_run() << "/" << model.config.n_layers
                     << " [" << rs->gate_string() << "]\n";
         }
         out["peak_rss_bytes"] = peak_rss_bytes();
         std::cout << "decode " << decode_tokens << " tokens after a " << decode_prompt
                   << "-token prompt: " << dec << " tok/s\n";
         std::cout << "peak RSS: " << (peak_rss_bytes() >> 20) << " MiB\n";
         if (!json_out.empty()) write_file_atomic(json_out, out.dump(2) + "\n");
         return 0;
       }});
}

}  // namespace lr::cli
