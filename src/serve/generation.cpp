#include "serve/generation.h"

#include <chrono>
#include <random>
#include <sstream>

#include "eval/metrics.h"
#include "serve/api_error.h"
#include "serve/server_metrics.h"

namespace lr::serve {

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s = prefix;
  for (int i = 0; i < 24; ++i) s += hex[rng() & 15];
  return s;
}

Generation::Generation(const ServeModel& m, GenRequest r) : m_(m), r_(std::move(r)) {
  const std::string prompt = prompt_text(r_, *m_.tmpl);
  std::vector<int> ids;
  for (int32_t id : m_.tok->encode(prompt)) ids.push_back(id);
  if (ids.empty()) bad_request(r_.chat ? "messages" : "prompt", "the prompt is empty");
  const int ctx = m_.sched->options().ctx;
  if (int(ids.size()) >= ctx)
    bad_request(r_.chat ? "messages" : "prompt",
                "the prompt is " + std::to_string(ids.size()) +
                    " tokens; this server's context (--ctx) holds " + std::to_string(ctx) +
                    " tokens, prompt and reply together",
                "context_length_exceeded");
  head_.id = random_id(r_.chat ? "chatcmpl-" : "cmpl-");
  head_.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  head_.model = m_.name;
  job_ = std::make_shared<Job>();
  job_->ids = std::move(ids);
  job_->sampler = r_.sampler;
  if (!r_.seeded) job_->sampler.seed = std::random_device{}();
  job_->max_tokens = r_.max_tokens;
  job_->gates = r_.gates;
  dec_.emplace(*m_.tok);
  reply_.emplace(r_.stop, r_.parse_tools(), forced_prefix(r_), [] { return random_id("call_"); });
}

void Generation::feed(const std::vector<int>& ids, std::vector<Json>& deltas) {
  for (int id : ids) {
    if (reply_->stopped()) break;
    ++completion_tokens_;
    for (Json& d : reply_->push(dec_->push(id))) deltas.push_back(std::move(d));
  }
  if (reply_->stopped()) job_->cancel();  // a stop string ended the reply: free the slot
}

void Generation::close(std::vector<Json>& deltas) {
  if (!reply_->stopped())
    for (Json& d : reply_->push(dec_->flush())) deltas.push_back(std::move(d));
  for (Json& d : reply_->finish()) deltas.push_back(std::move(d));
  done_ = true;
}

std::optional<ApiError> Generation::failure() const {
  if (reply_->stopped()) return std::nullopt;
  const std::string f = job_->finish_reason();
  if (f == "cancelled")
    return ApiError(503, "server_error", "", "cancelled",
                    "the request was cancelled: the server is shutting down");
  if (f.rfind("error", 0) == 0) return ApiError(500, "server_error", "", "", f);
  return std::nullopt;
}

std::string Generation::finish_reason() const {
  if (reply_->stopped()) return "stop";
  if (job_->finish_reason() == "length") return "length";
  return reply_->calls().empty() ? "stop" : "tool_calls";
}

Usage Generation::usage() const {
  const Job::Stats s = job_->stats();
  Usage u;
  u.prompt_tokens = int(job_->ids.size());
  u.cached_tokens = s.cached_tokens;
  u.completion_tokens = completion_tokens_;
  return u;
}

RouteInfo Generation::route() const {
  const Job::Stats s = job_->stats();
  RouteInfo r;
  r.blocks = m_.model->config.n_layers;
  r.blocks_run = s.gates.empty() ? r.blocks : s.blocks_run;
  r.gates = s.gates.empty() ? std::string(size_t(r.blocks), '1') : gate_string(s.gates);
  r.skip_pct = eval::skip_pct(r.blocks_run, r.blocks);
  r.predicted_saving_pct =
      100.0 * predicted_saving(m_.model->config, s.prefill_tokens + completion_tokens_,
                               r.blocks_run, m_.lora, m_.routed);
  return r;
}

std::vector<Json> Generation::poll(std::chrono::milliseconds timeout) {
  std::vector<Json> chunks;
  if (done_) return chunks;
  if (!started_ && r_.chat)
    chunks.push_back(chat_chunk(head_, Json{{"role", "assistant"}, {"content", ""}}, ""));
  started_ = true;
  std::vector<int> ids;
  const bool job_done = job_->wait(ids, timeout);
  std::vector<Json> deltas;
  feed(ids, deltas);
  const bool end = job_done || reply_->stopped();
  if (end) close(deltas);
  for (Json& d : deltas) {
    if (r_.chat)
      chunks.push_back(chat_chunk(head_, d, ""));
    else
      chunks.push_back(text_chunk(head_, d["content"].get<std::string>(), ""));
  }
  if (end && !failure()) {
    Json last = r_.chat ? chat_chunk(head_, Json::object(), finish_reason())
                        : text_chunk(head_, "", finish_reason());
    last["layerroute"] = route().json();
    chunks.push_back(std::move(last));
    if (r_.include_usage)
      chunks.push_back(usage_chunk(head_, r_.chat ? "chat.completion.chunk" : "text_completion",
                                   usage(), route()));
  }
  return chunks;
}

std::optional<Json> Generation::wait_response(const std::function<bool()>& client_gone) {
  std::vector<Json> deltas;
  while (!done_) {
    std::vector<int> ids;
    const bool job_done = job_->wait(ids, std::chrono::milliseconds(100));
    feed(ids, deltas);
    if (job_done || reply_->stopped()) {
      close(deltas);
    } else if (client_gone()) {
      job_->cancel();  // the engine drops it and frees the slot at its next iteration
      return std::nullopt;
    }
  }
  if (auto f = failure()) throw *f;
  if (r_.chat)
    return chat_completion(head_, reply_->content(), reply_->calls(), finish_reason(), usage(),
                           route());
  return text_completion(head_, reply_->content(), finish_reason(), usage(), route());
}

void Generation::record(ServerMetrics& metrics) const {
  const Job::Stats s = job_->stats();
  const RouteInfo r = route();
  metrics.generation(int(job_->ids.size()), s.cached_tokens, completion_tokens_, r.blocks_run,
                     r.blocks, (s.prefill_ms + s.decode_ms) / 1e3, r.predicted_saving_pct / 100.0);
  for (int i = 0; i < reply_->invalid_blocks(); ++i) metrics.invalid_tool_call();
}

std::string Generation::log_line(int status, double ms) const {
  const Job::Stats s = job_->stats();
  const RouteInfo r = route();
  std::ostringstream o;
  o << "serve: " << head_.id << " " << status << " " << (r_.chat ? "chat" : "completion")
    << (r_.stream ? " stream" : "") << " slot " << s.slot << " prompt " << job_->ids.size()
    << " (cached " << s.cached_tokens << ") completion " << completion_tokens_;
  if (!reply_->calls().empty()) o << " tool_calls " << reply_->calls().size();
  o << " blocks " << r.blocks_run << "/" << r.blocks << " [" << r.gates << "] finish "
    << (status == 499 ? "disconnected"
        : failure()   ? job_->finish_reason()
                      : finish_reason())
    << " queue " << int(s.queue_ms) << " ms prefill " << int(s.prefill_ms) << " ms in "
    << s.prefill_chunks << " chunks total " << int(ms) << " ms";
  return o.str();
}

}  // namespace lr::serve
