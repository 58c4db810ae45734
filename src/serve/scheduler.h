#pragma once
// Continuous batching over the rows of one RoutedBatch (DESIGN §3 "Serving"). Each row is
// a slot that keeps its conversation's KV cache. One engine thread owns the batch; HTTP
// threads hand it Jobs through a bounded queue. Each iteration the engine drops cancelled
// jobs, admits waiting ones (the admitted rows start one step together, each row its own
// gates), runs about `prefill_chunk` tokens' worth of blocks of the steps being prefilled
// (a chunked prefill: RoutedBatch::advance_prefill), then decodes one token for every row
// past its prefill in one call. A long prompt thus takes several iterations while the
// running streams keep getting a token per iteration.
//
// Slot choice for a request with prompt ids P: among free slots whose cached tokens are a
// proper prefix of P, the one with the longest cache (only P's new tokens are prefilled,
// as one step whose router pools over the whole sequence); otherwise an empty slot;
// otherwise the least recently used free slot, reset. A slot whose cache holds exactly P
// is reset too: a step needs at least one new token.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "layerroute/routed_batch.h"
#include "model/sampler.h"
#include "serve/job.h"

namespace lr::serve {

struct EngineOptions {
  int parallel = 1;  // slots = rows of the batch
  int ctx = 4096;    // tokens per slot (prompt + reply)
  int queue = 64;    // waiting jobs beyond which submit refuses
  // Prefill work per iteration: blocks over about this many tokens (prefill_chunk x blocks
  // token rows of blocks, at least one block).
  int prefill_chunk = 256;
  std::vector<int> stop_ids;
};

// Counters the engine keeps for /metrics.
struct EngineStats {
  int queued = 0, active = 0;
  int64_t decode_tokens = 0;        // tokens produced by batched decode calls
  double decode_s = 0;              // time spent in those calls
  int64_t steps = 0;                // request steps (prefills)
  std::vector<int64_t> block_open;  // [L] steps that ran each block
};

class Scheduler {
 public:
  // router and lora may be null; all pointers must outlive the scheduler.
  Scheduler(const Model& model, const RouterWeights* router, const LowRankDeltas* lora,
            RouteOptions route, EngineOptions opt);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // False when the queue already holds `queue` jobs (the caller answers 503).
  bool submit(std::shared_ptr<Job> job);
  // Ends every waiting and running job with "cancelled".
  void cancel_all();
  // cancel_all, then the engine thread exits; idempotent.
  void stop();
  EngineStats stats() const;
  const EngineOptions& options() const { return opt_; }

 private:
  struct Slot {
    std::vector<int> tokens;  // what the row's KV cache holds
    std::shared_ptr<Job> job;
    std::optional<Sampler> sampler;
    int pending = -1;         // sampled, not yet fed
    bool prefilling = false;  // its step is being prefilled (no token yet)
    int generated = 0;
    uint64_t last_used = 0;
    Job::Stats stats;
    std::chrono::steady_clock::time_point t_admit, t_first;
  };

  void loop();
  void admit(const std::vector<int>& admitted);
  void prefill_some();
  void decode_all();
  int pick_slot(const std::vector<int>& ids) const;
  void take_token(int s, int id);
  void end(int s, const std::string& reason);

  const Model& model_;
  RouteOptions route_;
  EngineOptions opt_;
  RoutedBatch batch_;
  std::vector<Slot> slots_;
  uint64_t tick_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stop_ = false, cancel_all_ = false;
  EngineStats stats_;
  std::thread thread_;
};

}  // namespace lr::serve
