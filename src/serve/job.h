#pragma once
// One request as the engine sees it: prompt ids and sampling in; generated ids, the step's
// gates and timings out. The HTTP thread that owns the request waits on it; the engine
// thread fills it. Either side may end it: the engine when generation stops, the client
// side by cancel() (disconnect, stop string, shutdown).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "layerroute/gates.h"
#include "model/sampler.h"

namespace lr::serve {

class Job {
 public:
  // In: set before submit, read-only afterwards.
  std::vector<int> ids;  // the whole prompt
  SamplerConfig sampler;
  int max_tokens = -1;            // -1: until the context is full
  std::optional<GateSpec> gates;  // none: the server's default

  // Out, after done(): how the step ran. Safe to read once done() or first tokens arrived.
  struct Stats {
    int slot = -1;
    int cached_tokens = 0;   // prompt tokens already in the slot's KV cache
    int prefill_tokens = 0;  // prompt tokens this request computed
    int blocks_run = 0;
    std::vector<unsigned char> gates;
    int prefill_chunks = 0;  // engine iterations from admission to the first token
    // queue: submitted to admitted; prefill: admitted to the first token; decode: after.
    double queue_ms = 0, prefill_ms = 0, decode_ms = 0;
  };

  // Blocks until tokens beyond `have` exist, the job is done, or the timeout passes;
  // appends the new ones to `into` and returns done().
  bool wait(std::vector<int>& into, std::chrono::milliseconds timeout);
  void cancel() { cancel_.store(true); }
  bool cancelled() const { return cancel_.load(); }
  bool done() const;
  std::string finish_reason() const;  // "stop" | "length" | "cancelled" | "error: ..."
  Stats stats() const;

  // Engine side.
  void set_stats(const Stats& s);
  void push(int id);
  void finish(const std::string& reason);
  std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> out_;
  size_t taken_ = 0;
  bool done_ = false;
  std::string finish_;
  Stats stats_;
  std::atomic<bool> cancel_{false};
};

}  // namespace lr::serve
