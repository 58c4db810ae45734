// `layerroute serve`: an OpenAI-compatible HTTP server (chat completions with tool calls,
// completions, models, health, metrics) with continuous batching over one routed batch.
// The library in src/serve does the work; this file reads flags, loads the model while
// the socket already answers /health with 503, and shuts down on SIGINT/SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/threads.h"
#include "core/timer.h"
#include "model/generation_config.h"
#include "serve/http_server.h"
#include "serve/scheduler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr::cli {

namespace {

struct ServeOptions {
  ModelOptions m;
  RouteOptionsCli route;
  serve::HttpOptions http;
  serve::EngineOptions engine;
  std::string alias;
  double grace_s = 10;
};

// Everything a running server holds; built after the socket is bound.
struct Loaded {
  Model model;
  Tokenizer tok;
  ChatTemplate tmpl;
  std::unique_ptr<RouteSetup> route;
  std::unique_ptr<serve::Scheduler> sched;
  serve::ServeModel sm;
};

std::unique_ptr<Loaded> load(ServeOptions& o) {
  Model model = Model::load(o.m.model, parse_weights_dtype(o.m.weights_dtype, o.m.model));
  Tokenizer tok = Tokenizer::load(o.m.model);
  ChatTemplate tmpl = ChatTemplate::from_model_dir(o.m.model);
  auto l = std::unique_ptr<Loaded>(
      new Loaded{std::move(model), std::move(tok), std::move(tmpl), nullptr, nullptr, {}});
  l->route = make_route_setup(o.route, l->model, o.m.model);
  std::vector<int> specials;
  for (const char* t : {"<|im_end|>", "<|endoftext|>"})
    if (l->tok.token_to_id(t) >= 0) specials.push_back(l->tok.token_to_id(t));
  o.engine.stop_ids =
      make_stop_ids({l->model.config.eos_ids, GenerationConfig::load(o.m.model).eos_ids, specials});
  const RouteOptions ro = l->route ? l->route->opt : RouteOptions{};
  l->sched =
      std::make_unique<serve::Scheduler>(l->model, l->route ? l->route->router() : nullptr,
                                         l->route ? l->route->lora() : nullptr, ro, o.engine);
  l->sm.model = &l->model;
  l->sm.tok = &l->tok;
  l->sm.tmpl = &l->tmpl;
  l->sm.sched = l->sched.get();
  l->sm.name = o.alias.empty()
                   ? std::filesystem::path(o.m.model).lexically_normal().filename().string()
                   : o.alias;
  if (l->sm.name.empty()) l->sm.name = std::filesystem::path(o.m.model).parent_path().filename();
  if (l->route && l->route->lora()) l->sm.lora = &l->route->adapters->lora.cfg;
  l->sm.routed = l->route && l->route->router();
  return l;
}

int g_signal_pipe[2] = {-1, -1};

void on_signal(int signo) {
  const unsigned char b = static_cast<unsigned char>(signo);
  (void)!write(g_signal_pipe[1], &b, 1);
}

int run(ServeOptions& o) {
  set_num_threads(o.m.threads);
  check_route_options(o.route);
  LR_CHECK(o.engine.parallel >= 1 && o.engine.parallel <= 256, "--parallel must be in [1, 256]");
  LR_CHECK(o.engine.ctx >= 8, "--ctx must be >= 8");
  LR_CHECK(o.engine.queue >= 1, "--queue must be >= 1");
  LR_CHECK(o.engine.prefill_chunk >= 1, "--prefill-chunk must be >= 1");
  LR_CHECK(o.grace_s >= 0, "--shutdown-grace must be >= 0");

  // SIGINT/SIGTERM: the handler only writes the signal number to a pipe (async-signal-safe,
  // and it works whichever thread the signal lands on: the BLAS and OpenMP pools exist
  // before this point, so blocking it for a sigwait thread is not possible); a thread reads
  // the pipe and shuts down.
  LR_CHECK(pipe(g_signal_pipe) == 0, "serve: cannot create a pipe: ", std::strerror(errno));
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  serve::HttpServer http(o.http);
  const int port = http.bind();
  std::cerr << "serve: listening on http://" << o.http.host << ":" << port << " (loading "
            << o.m.model << ")\n"
            << std::flush;
  std::thread listener([&] { http.listen(); });

  std::atomic<serve::Scheduler*> sched{nullptr};
  std::thread waiter([&] {
    unsigned char signo = 0;
    while (read(g_signal_pipe[0], &signo, 1) < 0 && errno == EINTR) {
    }
    std::cerr << "serve: " << (signo ? strsignal(signo) : "load failed")
              << ": no new requests; in-flight ones get " << o.grace_s << " s\n"
              << std::flush;
    // New requests get 503 from here on; in-flight ones run for up to the grace period,
    // then are cancelled, and the socket closes once their last events are written.
    http.drain();
    const Timer t;
    while (http.in_flight() > 0 && t.seconds() < o.grace_s)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (serve::Scheduler* s = sched.load()) s->cancel_all();
    const Timer t2;
    while (http.in_flight() > 0 && t2.seconds() < 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    http.stop();
  });

  std::unique_ptr<Loaded> loaded;
  std::exception_ptr err;
  try {
    loaded = load(o);
    sched.store(loaded->sched.get());
    http.set_ready(&loaded->sm);
    std::cerr << "serve: ready: model " << loaded->sm.name << " (" << loaded->model.config.n_layers
              << " blocks), " << o.engine.parallel << " slots of " << o.engine.ctx
              << " tokens, queue " << o.engine.queue << "; "
              << (loaded->route ? loaded->route->describe() : "routing: none (all blocks run)")
              << "\n"
              << std::flush;
  } catch (...) {
    err = std::current_exception();
    const unsigned char none = 0;  // wakes the waiter, which stops the listener too
    (void)!write(g_signal_pipe[1], &none, 1);
  }
  listener.join();
  waiter.join();
  if (loaded) loaded->sched->stop();
  if (err) std::rethrow_exception(err);
  std::cerr << "serve: stopped\n";
  return 0;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "serve",
      "OpenAI-compatible HTTP server: /v1/chat/completions (tools, streaming), "
      "/v1/completions, /v1/models, /health, /metrics; continuous batching, routing per "
      "request");
  static ServeOptions o;
  add_model_options(sub, &o.m);
  add_route_options(sub, &o.route);
  sub->add_option("--host", o.http.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", o.http.port, "Port (0: any free port, printed on stderr)")
      ->capture_default_str();
  sub->add_option("--parallel", o.engine.parallel,
                  "Slots: sequences decoded together, each keeping its KV cache")
      ->capture_default_str();
  sub->add_option("--ctx", o.engine.ctx, "Tokens per slot, prompt and reply together")
      ->capture_default_str();
  sub->add_option("--queue", o.engine.queue,
                  "Requests that may wait for a slot; beyond it the answer is 503 + Retry-After")
      ->capture_default_str();
  sub->add_option("--prefill-chunk", o.engine.prefill_chunk,
                  "Prefill work per engine iteration, in tokens through every block: a longer "
                  "prompt is prefilled over several iterations while running streams decode")
      ->capture_default_str();
  sub->add_option("--api-key", o.http.api_key,
                  "Require 'Authorization: Bearer KEY' (except /health)");
  sub->add_option("--alias", o.alias, "Model id in responses and /v1/models (default: DIR's name)");
  sub->add_option("--max-body", o.http.max_body, "Largest request body in bytes (beyond: 413)")
      ->capture_default_str();
  sub->add_option("--http-threads", o.http.http_threads,
                  "Connections served at once (each keep-alive connection holds one)")
      ->capture_default_str();
  sub->add_option("--shutdown-grace", o.grace_s,
                  "Seconds in-flight requests may run on after SIGINT/SIGTERM before they are "
                  "cancelled")
      ->capture_default_str();
  registry().push_back({sub, [] { return run(o); }});
}

}  // namespace lr::cli
