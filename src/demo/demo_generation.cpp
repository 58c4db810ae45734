#include "demo/demo_generation.h"

#include <algorithm>
#include <iostream>
#include <vector>

#include "core/best_of.h"
#include "core/error.h"
#include "core/timer.h"
#include "kernels/cpu/argmax.h"
#include "layerroute/adapters.h"
#include "layerroute/routed_session.h"
#include "model/forward.h"
#include "model/generation_config.h"
#include "model/sampler.h"
#include "text/chat_template.h"
#include "text/dataset.h"
#include "text/tokenizer.h"

namespace lr {

namespace {

struct GenRun {
  std::string text, gates;
  int blocks_run = 0, prompt_tokens = 0, new_tokens = 0;
  double prefill_s = 0, decode_s = 0;
};

GenRun generate(RoutedSession& s, const Tokenizer& tok, const std::vector<int>& prompt, int max_new,
                const std::vector<int>& stops) {
  GenRun g;
  s.reset();
  const int V = s.model().config.vocab;
  Timer tp;
  auto logits = s.prefill(prompt);
  g.prefill_s = tp.seconds();
  g.prompt_tokens = int(prompt.size());
  g.gates = s.gate_string();
  g.blocks_run = s.blocks_run();
  std::vector<int32_t> out;
  Timer td;
  for (int i = 0; i < max_new; ++i) {
    const int next = argmax(logits.data(), V);
    if (is_stop(stops, next)) break;
    out.push_back(next);
    logits = s.decode(next);
    ++g.new_tokens;
  }
  g.decode_s = td.seconds();
  g.text = tok.decode(out, true);
  return g;
}

// The conversation up to (not including) its first assistant turn, as the model sees it.
std::string prompt_text(const Sample& s, const ChatTemplate& tmpl) {
  Json msgs = Json::array();
  for (const Json& m : s.messages) {
    if (m.value("role", "") == "assistant") break;
    msgs.push_back(m);
  }
  return tmpl.render(msgs, s.tools, true);
}

void show(const char* what, const GenRun& r, int L) {
  std::cout << "  " << what << ": blocks run " << r.blocks_run << "/" << L << " [" << r.gates
            << "], prefill " << r.prompt_tokens << " tokens at "
            << int(r.prompt_tokens / std::max(r.prefill_s, 1e-9)) << " tok/s, decode "
            << r.new_tokens << " tokens at "
            << (r.new_tokens ? int(r.new_tokens / std::max(r.decode_s, 1e-9)) : 0)
            << " tok/s (best of 3)\n";
}

}  // namespace

void demo_generation(const std::string& model_dir, const std::string& adapters_dir,
                     const std::string& tool_file, const std::string& planning_file, int max_new) {
  const Model model = Model::load(model_dir);
  const Adapters ad = Adapters::load(adapters_dir, model.config);
  const Tokenizer tok = Tokenizer::load(model_dir);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(model_dir);
  std::vector<int> extra;
  for (const char* t : {"<|im_end|>", "<|endoftext|>"})
    if (tok.token_to_id(t) >= 0) extra.push_back(tok.token_to_id(t));
  const std::vector<int> stops =
      make_stop_ids({model.config.eos_ids, GenerationConfig::load(model_dir).eos_ids, extra});
  const LowRankDeltas deltas = ad.deltas();
  const int L = model.config.n_layers;

  const std::pair<const char*, std::string> cases[] = {{"tool-call step", "hermes:" + tool_file},
                                                       {"planning step", "gsm8k:" + planning_file}};
  for (const auto& [label, spec] : cases) {
    const std::vector<Sample> v = load_dataset(DataSpec::parse(spec), 1, nullptr);
    LR_CHECK(!v.empty(), spec, ": no sample");
    const std::string text = prompt_text(v[0], tmpl);
    std::vector<int> ids;
    for (int32_t id : tok.encode(text)) ids.push_back(id);
    std::cout
        << "\n--- " << label << " ---\n"
        << "user: "
        << v[0].messages[v[0].messages[0]["role"] == "system" ? 1 : 0]["content"].get<std::string>()
        << "\n";
    // Both sessions built first, then timed alternately, best of three each: one noisy
    // moment on a shared machine should not decide the comparison.
    std::vector<RoutedSession> sessions;
    sessions.reserve(2);  // no move after set_lora
    for (const char* mode : {"router", "open"}) {
      RouteOptions o;
      o.gates = GateSpec::parse(mode);
      o.settings = ad.settings;
      sessions.emplace_back(model, ad.has_router ? &ad.router : nullptr, o,
                            int(ids.size()) + max_new + 1);
      if (deltas.any_active()) sessions.back().set_lora(&deltas);
      generate(sessions.back(), tok, ids, max_new, stops);  // warm-up: first touch of pages
    }
    const auto runs = best_of_alternating<GenRun>(
        3, 2, [&](int m) { return generate(sessions[size_t(m)], tok, ids, max_new, stops); },
        [](GenRun& b, const GenRun& g) {
          b.prefill_s = std::min(b.prefill_s, g.prefill_s);
          b.decode_s = std::min(b.decode_s, g.decode_s);
        });
    std::cout << "assistant (routed): " << runs[0].text << "\n";
    if (runs[1].text != runs[0].text)
      std::cout << "assistant (all blocks): " << runs[1].text << "\n";
    else
      std::cout << "(all blocks open gives the same text)\n";
    show("routed    ", runs[0], L);
    show("all blocks", runs[1], L);
  }
}

}  // namespace lr
