#pragma once
// What /metrics reports, in Prometheus' text format (version 0.0.4): requests by endpoint
// and status, tokens, queue depth, active sequences, decode throughput, per-block open
// rate, routing's predicted and estimated time saving, invalid tool-call blocks.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "layerroute/lora.h"
#include "model/config.h"
#include "serve/scheduler.h"

namespace lr::serve {

// Share of a request's forward FLOPs the closed blocks save (0..1), by the full-forward
// model of eval/metrics.h over the tokens the request computed (T = new prompt tokens +
// generated tokens); lora may be null.
double predicted_saving(const ModelConfig& c, int T, int blocks_run, const LoraConfig* lora,
                        bool routed);

class ServerMetrics {
 public:
  void request(const std::string& endpoint, int status);
  // One finished generation: its tokens, blocks run, compute seconds and predicted saving.
  void generation(int prompt_tokens, int cached_tokens, int completion_tokens, int blocks_run,
                  int blocks, double compute_s, double saving);
  void invalid_tool_call();
  std::string prometheus(const EngineStats& e) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  int64_t prompt_ = 0, cached_ = 0, completion_ = 0, generations_ = 0;
  int64_t blocks_run_ = 0, blocks_ = 0;
  double saved_s_ = 0, predicted_sum_ = 0;
  int64_t invalid_tool_calls_ = 0;
};

}  // namespace lr::serve
