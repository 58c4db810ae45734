#include "serve/http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/timer.h"
#include "serve/api_error.h"
#include "serve/generation.h"
#include "serve/peer_socket.h"

namespace lr::serve {

namespace {

std::mutex log_mu;
void log_line(const std::string& s) {
  std::lock_guard lk(log_mu);
  std::cerr << s << "\n" << std::flush;
}

void send_json(httplib::Response& res, int status, const Json& j) {
  res.status = status;
  res.set_content(json_text(j), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  send_json(res, e.status, error_body(e));
}

std::string status_type(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 413:
      return "invalid_request_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions opt;
  httplib::Server svr;
  std::atomic<const ServeModel*> ready{nullptr};
  std::atomic<bool> draining{false};
  std::atomic<int> in_flight{0};
  ServerMetrics metrics;

  explicit Impl(HttpOptions o) : opt(std::move(o)) { routes(); }

  // The request's endpoint as a metrics label: known paths only (no unbounded labels).
  static std::string endpoint(const httplib::Request& req) {
    for (const char* p :
         {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics"})
      if (req.path == p) return p;
    return "other";
  }

  void fail(const httplib::Request& req, httplib::Response& res, const ApiError& e) {
    send_error(res, e);
    metrics.request(endpoint(req), e.status);
    log_line("serve: - " + std::to_string(e.status) + " " + req.method + " " + req.path + ": " +
             e.what());
  }

  void routes() {
    svr.new_task_queue = [n = opt.http_threads] { return new httplib::ThreadPool(size_t(n)); };
    svr.set_payload_max_length(opt.max_body);
    svr.set_keep_alive_timeout(2);
    svr.set_read_timeout(30);
    svr.set_write_timeout(30);

    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (opt.api_key.empty() || req.path == "/health")
        return httplib::Server::HandlerResponse::Unhandled;
      const std::string auth = req.get_header_value("Authorization");
      if (auth == "Bearer " + opt.api_key) return httplib::Server::HandlerResponse::Unhandled;
      fail(req, res,
           ApiError(401, "invalid_request_error", "", "invalid_api_key",
                    auth.empty() ? "missing API key: send Authorization: Bearer KEY"
                                 : "incorrect API key provided"));
      return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses httplib sets itself (413 body too large, 404 unknown path, 400 bad HTTP)
    // get an OpenAI error object too.
    svr.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          std::string msg = "HTTP status " + std::to_string(res.status);
          if (res.status == 400) msg = "malformed HTTP request";
          if (res.status == 413)
            msg = "the request body is larger than this server's limit of " +
                  std::to_string(opt.max_body) + " bytes";
          if (res.status == 404) msg = "no route " + req.method + " " + req.path;
          const int status = res.status;
          fail(req, res, ApiError(status, status_type(status), "", "", msg));
          return httplib::Server::HandlerResponse::Handled;
        }));

    svr.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      if (!ready.load() || draining.load()) {
        const char* why = draining.load() ? "Shutting down" : "Loading model";
        send_json(
            res, 503,
            Json{{"error", {{"code", 503}, {"message", why}, {"type", "unavailable_error"}}}});
      } else {
        send_json(res, 200, Json{{"status", "ok"}});
      }
      metrics.request(endpoint(req), res.status);
    });
    svr.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      const ServeModel* m = ready.load();
      res.set_content(metrics.prometheus(m ? m->sched->stats() : EngineStats()),
                      "text/plain; version=0.0.4");
      metrics.request(endpoint(req), 200);
    });
    svr.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      const ServeModel* m = ready.load();
      if (!m)
        return fail(req, res, ApiError(503, "server_error", "", "loading", "the model is loading"));
      send_json(res, 200, model_list(m->name, 0));
      metrics.request(endpoint(req), 200);
    });
    svr.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      generate(req, res, true);
    });
    svr.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      generate(req, res, false);
    });
  }

  void generate(const httplib::Request& req, httplib::Response& res, bool chat) {
    const Timer timer;
    const ServeModel* m = ready.load();
    if (!m)
      return fail(req, res, ApiError(503, "server_error", "", "loading", "the model is loading"));
    if (draining.load())
      return fail(
          req, res,
          ApiError(503, "server_error", "", "shutting_down", "the server is shutting down"));
    std::shared_ptr<Generation> gen;
    try {
      const Json body = parse_body(req.body);
      const int L = m->model->config.n_layers;
      GenRequest r = chat ? parse_chat_request(body, L) : parse_completion_request(body, L);
      gen = std::make_shared<Generation>(*m, std::move(r));
    } catch (const ApiError& e) {
      return fail(req, res, e);
    } catch (const std::exception& e) {
      return fail(req, res, ApiError(500, "server_error", "", "", e.what()));
    }
    for (const std::string& w : gen->request().warnings)
      res.set_header("Warning", "299 layerroute \"" + w + "\"");
    if (!m->sched->submit(gen->job())) {
      res.set_header("Retry-After", "1");
      return fail(req, res,
                  ApiError(503, "server_error", "", "overloaded",
                           "the server is busy: every slot is taken and the queue is full"));
    }
    ++in_flight;
    if (!gen->request().stream) {
      const PeerSocket peer(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
      try {
        if (auto body = gen->wait_response([&] { return peer.closed(); })) {
          send_json(res, 200, *body);
        } else {
          // 499: the client closed the connection (nginx's code); nobody reads this.
          send_error(res, ApiError(499, "invalid_request_error", "", "client_closed_request",
                                   "the client closed the connection"));
        }
      } catch (const ApiError& e) {
        send_error(res, e);
      }
      finish(req, *gen, res.status, timer.seconds());
      return;
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    auto logged = std::make_shared<std::atomic<bool>>(false);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, gen, timer, logged, path = req.path](size_t, httplib::DataSink& sink) {
          for (const Json& c : gen->poll(std::chrono::milliseconds(100))) {
            const std::string ev = sse_event(c);
            if (!sink.write(ev.data(), ev.size())) {
              gen->job()->cancel();  // the client went away: free the slot
              return false;
            }
          }
          if (!gen->done()) return true;
          std::string tail;
          if (auto f = gen->failure()) tail = sse_event(error_body(*f));
          tail += kSseDone;
          const bool ok = sink.write(tail.data(), tail.size());
          if (ok) sink.done();
          if (!logged->exchange(true)) finish_stream(path, *gen, 200, timer.seconds());
          return ok;
        },
        [this, gen, timer, logged, path = req.path](bool) {
          // The response ended or the connection dropped: make sure the engine stops.
          if (gen->done()) return;
          gen->job()->cancel();
          // 499: the client closed the connection (nginx's code; nothing was sent for it).
          if (!logged->exchange(true)) finish_stream(path, *gen, 499, timer.seconds());
        });
  }

  void finish(const httplib::Request& req, const Generation& gen, int status, double s) {
    metrics.request(endpoint(req), status);
    gen.record(metrics);
    log_line(gen.log_line(status, s * 1e3));
    --in_flight;
  }
  void finish_stream(const std::string& path, const Generation& gen, int status, double s) {
    metrics.request(path, status);
    gen.record(metrics);
    log_line(gen.log_line(status, s * 1e3));
    --in_flight;
  }
};

HttpServer::HttpServer(HttpOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {}
HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  const int port =
      impl_->opt.port == 0
          ? impl_->svr.bind_to_any_port(impl_->opt.host)
          : (impl_->svr.bind_to_port(impl_->opt.host, impl_->opt.port) ? impl_->opt.port : -1);
  LR_CHECK(port > 0, "serve: cannot listen on ", impl_->opt.host, ":", impl_->opt.port);
  return port;
}

void HttpServer::listen() {
  impl_->svr.listen_after_bind();
}

void HttpServer::set_ready(const ServeModel* m) {
  impl_->ready.store(m);
}

void HttpServer::drain() {
  impl_->draining.store(true);
}

int HttpServer::in_flight() const {
  return impl_->in_flight.load();
}

void HttpServer::stop() {
  impl_->draining.store(true);
  // cpp-httplib's stop() does nothing before listen() runs: wait for it (a model that
  // fails to load stops the server right after it was started).
  for (int i = 0; i < 500 && !impl_->svr.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->svr.stop();
}

ServerMetrics& HttpServer::metrics() {
  return impl_->metrics;
}

}  // namespace lr::serve
