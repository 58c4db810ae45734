// `layerroute generate`: prompt (raw text, chat messages, or ids) -> streamed continuation,
// then prefill and decode speed on stderr.
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/json.h"
#include "model/forward.h"
#include "model/generation_config.h"
#include "model/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr::cli {

namespace {

struct GenerateOptions {
  ModelOptions m;
  RouteOptionsCli route;
  std::string prompt, messages, tools, ids;
  bool chat = false;
  int max_new = 256;
  SamplerConfig s;
  bool sample_flag = false;
};

std::vector<int> stop_ids_for(const Model& model, const GenerationConfig& gen,
                              const Tokenizer* tok) {
  std::vector<int> specials;
  if (tok) {
    for (const char* t : {"<|im_end|>", "<|endoftext|>"})
      if (tok->token_to_id(t) >= 0) specials.push_back(tok->token_to_id(t));
  }
  return make_stop_ids({model.config.eos_ids, gen.eos_ids, specials});
}

int run(GenerateOptions& o) {
  set_num_threads(o.m.threads);
  const int n_inputs = !o.prompt.empty() + !o.messages.empty() + !o.ids.empty();
  LR_CHECK(n_inputs == 1, "give exactly one of --prompt, --messages, --ids");
  LR_CHECK(o.tools.empty() || !o.messages.empty(), "--tools needs --messages");
  LR_CHECK(o.max_new >= 0, "--max-new-tokens must be >= 0");
  check_route_options(o.route);

  std::optional<Tokenizer> tok;
  const bool has_tokenizer = std::filesystem::exists(o.m.model + "/tokenizer.json");
  if (has_tokenizer) tok.emplace(Tokenizer::load(o.m.model));
  LR_CHECK(tok || !o.ids.empty(), o.m.model, ": no tokenizer.json; give the prompt as --ids 1,2,3");

  std::vector<int> ids;
  if (!o.ids.empty()) {
    ids = parse_ids(o.ids);
  } else {
    std::string text;
    if (!o.messages.empty()) {
      const Json msgs = read_json_file(o.messages);
      const Json tools = o.tools.empty() ? Json() : read_json_file(o.tools);
      text = ChatTemplate::from_model_dir(o.m.model).render(msgs, tools, true);
    } else if (o.chat) {
      Json msgs = Json::array({Json{{"role", "user"}, {"content", o.prompt}}});
      text = ChatTemplate::from_model_dir(o.m.model).render(msgs, Json(), true);
    } else {
      text = o.prompt;
    }
    for (int32_t id : tok->encode(text)) ids.push_back(id);
  }
  LR_CHECK(!ids.empty(), "the prompt is empty");

  const Model model = Model::load(o.m.model, parse_weights_dtype(o.m.weights_dtype, o.m.model));
  for (int id : ids)
    LR_CHECK(id >= 0 && id < model.config.vocab, "prompt token id ", id,
             " is outside the model's vocabulary [0, ", model.config.vocab, ")");
  const GenerationConfig gen = GenerationConfig::load(o.m.model);
  const std::vector<int> stops = stop_ids_for(model, gen, tok ? &*tok : nullptr);

  const std::unique_ptr<RouteSetup> route = make_route_setup(o.route, model, o.m.model);
  if (route) std::cerr << route->describe() << "\n";
  ModelSession session(model, route.get(), int(ids.size()) + o.max_new + 1);
  Sampler sampler(o.s);
  std::optional<StreamDecoder> stream;
  if (tok) stream.emplace(*tok);

  Timer t_prefill;
  std::span<const float> logits = session.prefill(ids);
  const double prefill_s = t_prefill.seconds();
  if (RoutedSession* rs = session.routed())  // one step: the prompt, then its decoding
    std::cerr << "step 1: blocks run: " << rs->blocks_run() << "/" << model.config.n_layers << " ["
              << rs->gate_string() << "]\n";

  Timer t_decode;
  int generated = 0, decoded_steps = 0;
  std::string stop_reason = "max tokens";
  for (int i = 0; i < o.max_new; ++i) {
    const int next = sampler.sample(logits.data(), model.config.vocab);
    ++generated;
    if (is_stop(stops, next)) {
      stop_reason = "stop token " + std::to_string(next);
      break;
    }
    if (stream)
      std::cout << stream->push(next) << std::flush;
    else
      std::cout << (generated > 1 ? "," : "") << next << std::flush;
    if (i + 1 == o.max_new) break;
    logits = session.decode(next);
    ++decoded_steps;
  }
  if (stream) std::cout << stream->flush();
  std::cout << "\n";
  const double decode_s = t_decode.seconds();
  std::cerr << "prefill: " << ids.size() << " tokens in " << prefill_s << " s ("
            << (ids.size() / prefill_s) << " tok/s); decode: " << decoded_steps << " tokens in "
            << decode_s << " s (" << (decoded_steps > 0 ? decoded_steps / decode_s : 0.0)
            << " tok/s" << (route ? " routed" : "") << "); stopped: " << stop_reason << "\n";
  return 0;
}

}  // namespace

void register_generate(CLI::App& app) {
  auto* sub = app.add_subcommand("generate", "Generate a continuation, streaming tokens");
  static GenerateOptions o;
  add_model_options(sub, &o.m);
  add_route_options(sub, &o.route);
  sub->add_option("--prompt", o.prompt, "Prompt text (raw, unless --chat)");
  sub->add_flag("--chat", o.chat, "Wrap --prompt as one user message with the chat template");
  sub->add_option("--messages", o.messages, "JSON file: an array of chat messages");
  sub->add_option("--tools", o.tools, "JSON file: an array of tool schemas (with --messages)");
  sub->add_option("--ids", o.ids, "Prompt as token ids, e.g. 1,2,3 (models without a tokenizer)");
  sub->add_option("-n,--max-new-tokens", o.max_new, "Most tokens to generate")
      ->capture_default_str();
  sub->add_option("--temperature", o.s.temperature, "0: greedy")->capture_default_str();
  sub->add_option("--top-k", o.s.top_k, "0: off")->capture_default_str();
  sub->add_option("--top-p", o.s.top_p, "1: off")->capture_default_str();
  sub->add_option("--seed", o.s.seed, "Sampling seed")->capture_default_str();
  registry().push_back({sub, [] { return run(o); }});
}

}  // namespace lr::cli
