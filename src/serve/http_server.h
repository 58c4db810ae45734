#pragma once
// The HTTP side of `layerroute serve` (cpp-httplib): routes, bearer-token check, body
// limit, OpenAI error objects, SSE streaming, one log line per request. It answers
// /health with 503 until set_ready() hands it the loaded model, so it can listen while
// the model loads. Handlers run on a pool of HTTP threads; generation goes through the
// Scheduler's queue to its engine thread.
#include <cstddef>
#include <memory>
#include <string>

#include "layerroute/lora.h"
#include "model/forward.h"
#include "serve/scheduler.h"
#include "serve/server_metrics.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr::serve {

// What the handlers need once the model is loaded; every pointer outlives the server.
struct ServeModel {
  const Model* model = nullptr;
  const Tokenizer* tok = nullptr;
  const ChatTemplate* tmpl = nullptr;
  Scheduler* sched = nullptr;
  std::string name;                  // the id /v1/models lists and responses carry
  const LoraConfig* lora = nullptr;  // for the FLOP model; null: no LoRA
  bool routed = false;               // routers loaded
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port
  std::string api_key;  // empty: no check
  size_t max_body = 8u << 20;
  int http_threads = 64;  // connections served at once (keep-alive holds one each)
};

class HttpServer {
 public:
  explicit HttpServer(HttpOptions opt);
  ~HttpServer();
  // Binds the socket; returns the port (the chosen one for port 0). Throws on failure.
  int bind();
  // Serves until stop(); returns after in-flight requests have ended.
  void listen();
  void set_ready(const ServeModel* m);
  // Draining: new generation requests get 503 and /health 503; requests being served run on.
  void drain();
  // Generation requests being served (admitted, queued or streaming their last events).
  int in_flight() const;
  // Closes the socket and returns listen(); call after the in-flight requests have ended
  // (cpp-httplib cuts streams that are still being written).
  void stop();
  ServerMetrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lr::serve
