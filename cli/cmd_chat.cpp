// `layerroute chat`: an interactive, streaming chat. Each user turn is one step: only the
// new tokens are prefilled (the KV cache keeps the conversation), the routers decide the
// gates for that step, and the step's line says which blocks ran.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "io/json.h"
#include "model/generation_config.h"
#include "model/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr::cli {

namespace {

struct ChatOptions {
  ModelOptions m;
  RouteOptionsCli route;
  std::string tools, system;
  int max_new = 512, max_context = 4096;
  SamplerConfig s;
};

int run(ChatOptions& o) {
  set_num_threads(o.m.threads);
  check_route_options(o.route);
  const Model model = Model::load(o.m.model, parse_weights_dtype(o.m.weights_dtype, o.m.model));
  const Tokenizer tok = Tokenizer::load(o.m.model);
  const ChatTemplate tmpl = ChatTemplate::from_model_dir(o.m.model);
  const Json tools = o.tools.empty() ? Json() : read_json_file(o.tools);
  const std::unique_ptr<RouteSetup> route = make_route_setup(o.route, model, o.m.model);
  std::vector<int> extra;
  for (const char* t : {"<|im_end|>", "<|endoftext|>"})
    if (tok.token_to_id(t) >= 0) extra.push_back(tok.token_to_id(t));
  const std::vector<int> stops =
      make_stop_ids({model.config.eos_ids, GenerationConfig::load(o.m.model).eos_ids, extra});
  const int L = model.config.n_layers;
  const bool tty = isatty(0);
  if (route) std::cerr << route->describe() << "\n";
  std::cerr << "type a message; '/tool TEXT' sends a tool result, '/reset' starts over, "
               "'/quit' or end of input leaves\n";

  ModelSession session(model, route.get(), o.max_context);
  Sampler sampler(o.s);
  Json messages = Json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  const Json base = messages;
  std::vector<int> fed;  // every token in the KV cache, in order
  std::string line;
  int step = 0;
  for (;;) {
    if (tty) std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/quit") break;
    if (line.empty()) continue;
    if (line == "/reset") {
      messages = base;
      fed.clear();
      session.reset();
      continue;
    }
    if (line.rfind("/tool ", 0) == 0)
      messages.push_back({{"role", "tool"}, {"content", line.substr(6)}});
    else
      messages.push_back({{"role", "user"}, {"content", line}});

    // The conversation re-rendered; only what follows the cached tokens is new. When the
    // template re-renders history differently (it should not), start the cache over.
    std::vector<int> all;
    for (int32_t id : tok.encode(tmpl.render(messages, tools, true))) all.push_back(id);
    const bool prefix = all.size() >= fed.size() && std::equal(fed.begin(), fed.end(), all.begin());
    if (!prefix) {
      session.reset();
      fed.clear();
    }
    std::vector<int> fresh(all.begin() + long(fed.size()), all.end());
    LR_CHECK(int(all.size()) + o.max_new < o.max_context,
             "the conversation would exceed --max-context ", o.max_context, " tokens; /reset");
    ++step;
    Timer tp;
    auto logits = session.prefill(fresh);
    const double prefill_s = tp.seconds();
    fed.insert(fed.end(), fresh.begin(), fresh.end());

    StreamDecoder stream(tok);
    std::vector<int32_t> reply;
    Timer td;
    for (int i = 0; i < o.max_new; ++i) {
      const int next = sampler.sample(logits.data(), model.config.vocab);
      if (is_stop(stops, next)) break;
      reply.push_back(next);
      std::cout << stream.push(next) << std::flush;
      logits = session.decode(next);
      fed.push_back(next);
    }
    std::cout << stream.flush() << "\n";
    const double decode_s = td.seconds();
    // The assistant turn as generated (tool calls included as text): re-rendering it gives
    // back the same tokens, so the next turn continues the cache.
    messages.push_back({{"role", "assistant"}, {"content", tok.decode(reply, true)}});

    std::cerr << "[step " << step << ": prefill " << fresh.size() << " tokens in "
              << int(prefill_s * 1000) << " ms, decode " << reply.size() << " tokens at "
              << (reply.empty() ? 0 : int(reply.size() / std::max(decode_s, 1e-9))) << " tok/s";
    if (RoutedSession* rs = session.routed()) {
      const int run = rs->blocks_run();
      std::cerr << "; blocks run " << run << "/" << L << " [" << rs->gate_string() << "]";
      if (run < L)
        std::cerr << ", " << (L - run) << " blocks skipped: ≈" << int(100.0 * (L - run) / L)
                  << "% of block compute saved this step";
    }
    std::cerr << "]\n";
  }
  return 0;
}

}  // namespace

void register_chat(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "chat", "Interactive chat (streaming, KV cache across turns), with routing per step");
  static ChatOptions o;
  add_model_options(sub, &o.m);
  add_route_options(sub, &o.route);
  sub->add_option("--tools", o.tools, "JSON file: an array of tool schemas offered to the model");
  sub->add_option("--system", o.system, "System prompt (default: the template's own)");
  sub->add_option("-n,--max-new-tokens", o.max_new, "Most tokens per reply")->capture_default_str();
  sub->add_option("--max-context", o.max_context, "KV cache size in tokens")->capture_default_str();
  sub->add_option("--temperature", o.s.temperature, "0: greedy")->capture_default_str();
  sub->add_option("--top-k", o.s.top_k, "0: off")->capture_default_str();
  sub->add_option("--top-p", o.s.top_p, "1: off")->capture_default_str();
  sub->add_option("--seed", o.s.seed, "Sampling seed")->capture_default_str();
  registry().push_back({sub, [] { return run(o); }});
}

}  // namespace lr::cli
