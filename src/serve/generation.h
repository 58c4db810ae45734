#pragma once
// One completion request from checked body to OpenAI output: renders and tokenizes the
// prompt, submits a Job, turns its tokens into text (stop strings, tool calls) and builds
// the stream chunks or the whole response, with usage and the "layerroute" routing object.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/json.h"
#include "serve/api_error.h"
#include "serve/http_server.h"
#include "serve/openai_shapes.h"
#include "serve/reply_stream.h"
#include "serve/request.h"

namespace lr::serve {

class Generation {
 public:
  // Throws ApiError: 400 for a bad prompt or one that leaves no room in --ctx.
  Generation(const ServeModel& m, GenRequest r);
  const GenRequest& request() const { return r_; }
  const std::shared_ptr<Job>& job() const { return job_; }
  const ResponseHead& head() const { return head_; }

  // Streaming: the chunks that became ready within `timeout` (the first call also gives
  // the role chunk; the last the finish chunk and, when asked, the usage chunk).
  std::vector<Json> poll(std::chrono::milliseconds timeout);
  bool done() const { return done_; }
  // Non-streaming: waits for the end and returns the whole response. Throws ApiError 503
  // when the server cancelled the request (shutdown), 500 on an engine error. Asks
  // client_gone() every 100 ms: once it says yes, the job is cancelled (its slot freed)
  // and the answer is nullopt.
  std::optional<Json> wait_response(const std::function<bool()>& client_gone);
  // The request was ended by the server (shutdown) or failed: the stream's last event.
  std::optional<ApiError> failure() const;

  Usage usage() const;
  RouteInfo route() const;
  std::string finish_reason() const;
  // Adds this request to the counters; call once at the end.
  void record(ServerMetrics& metrics) const;
  std::string log_line(int status, double ms) const;

 private:
  void feed(const std::vector<int>& ids, std::vector<Json>& deltas);
  void close(std::vector<Json>& deltas);

  const ServeModel& m_;
  GenRequest r_;
  ResponseHead head_;
  std::shared_ptr<Job> job_;
  std::optional<StreamDecoder> dec_;
  std::optional<ReplyStream> reply_;
  std::string text_;  // completions: the text so far
  int completion_tokens_ = 0;
  bool started_ = false, done_ = false;
};

// "chatcmpl-" / "cmpl-" / "call_" followed by 24 random hex digits.
std::string random_id(const char* prefix);

}  // namespace lr::serve
