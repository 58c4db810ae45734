#include "serve/server_metrics.h"

#include <sstream>

#include "eval/flops.h"

namespace lr::serve {

double predicted_saving(const ModelConfig& c, int T, int blocks_run, const LoraConfig* lp,
                        bool routed) {
  if (T <= 0) return 0;
  const double all = double(eval::full_forward_flops(c, T, c.n_layers, lp, routed).total());
  const double run = double(eval::full_forward_flops(c, T, blocks_run, lp, routed).total());
  return all > 0 ? 1.0 - run / all : 0.0;
}

void ServerMetrics::request(const std::string& endpoint, int status) {
  std::lock_guard lk(mu_);
  ++requests_[{endpoint, status}];
}

void ServerMetrics::generation(int prompt_tokens, int cached_tokens, int completion_tokens,
                               int blocks_run, int blocks, double compute_s, double saving) {
  std::lock_guard lk(mu_);
  prompt_ += prompt_tokens;
  cached_ += cached_tokens;
  completion_ += completion_tokens;
  ++generations_;
  blocks_run_ += blocks_run;
  blocks_ += blocks;
  predicted_sum_ += saving;
  // All-open would have taken compute_s / (1 - saving) by the FLOP model.
  if (saving > 0 && saving < 1) saved_s_ += compute_s * saving / (1 - saving);
}

void ServerMetrics::invalid_tool_call() {
  std::lock_guard lk(mu_);
  ++invalid_tool_calls_;
}

std::string ServerMetrics::prometheus(const EngineStats& e) const {
  std::lock_guard lk(mu_);
  std::ostringstream o;
  auto head = [&](const char* name, const char* type, const char* help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  };
  head("layerroute_requests_total", "counter", "HTTP requests by endpoint and status.");
  for (const auto& [k, n] : requests_)
    o << "layerroute_requests_total{endpoint=\"" << k.first << "\",status=\"" << k.second << "\"} "
      << n << "\n";
  head("layerroute_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
  o << "layerroute_prompt_tokens_total " << prompt_ << "\n";
  head("layerroute_prompt_tokens_cached_total", "counter",
       "Prompt tokens found in a slot's KV cache (not prefilled again).");
  o << "layerroute_prompt_tokens_cached_total " << cached_ << "\n";
  head("layerroute_generated_tokens_total", "counter", "Tokens generated.");
  o << "layerroute_generated_tokens_total " << completion_ << "\n";
  head("layerroute_queue_depth", "gauge", "Requests waiting for a slot.");
  o << "layerroute_queue_depth " << e.queued << "\n";
  head("layerroute_active_sequences", "gauge", "Requests holding a slot.");
  o << "layerroute_active_sequences " << e.active << "\n";
  head("layerroute_decode_tokens_per_second", "gauge",
       "Tokens per second of the batched decode calls since start (all rows together).");
  o << "layerroute_decode_tokens_per_second " << (e.decode_s > 0 ? e.decode_tokens / e.decode_s : 0)
    << "\n";
  head("layerroute_block_open_ratio", "gauge", "Share of request steps that ran each block.");
  for (size_t l = 0; l < e.block_open.size(); ++l)
    o << "layerroute_block_open_ratio{block=\"" << l << "\"} "
      << (e.steps > 0 ? double(e.block_open[l]) / double(e.steps) : 0.0) << "\n";
  head("layerroute_blocks_run_ratio", "gauge", "Blocks run over blocks, all generations.");
  o << "layerroute_blocks_run_ratio " << (blocks_ > 0 ? double(blocks_run_) / double(blocks_) : 1.0)
    << "\n";
  head("layerroute_predicted_saving_ratio", "gauge",
       "Mean predicted FLOP saving of routing per generation.");
  o << "layerroute_predicted_saving_ratio "
    << (generations_ > 0 ? predicted_sum_ / double(generations_) : 0.0) << "\n";
  head("layerroute_routing_time_saved_seconds_total", "counter",
       "Estimated compute seconds routing saved: compute time x saving / (1 - saving), by the "
       "FLOP model.");
  o << "layerroute_routing_time_saved_seconds_total " << saved_s_ << "\n";
  head("layerroute_invalid_tool_calls_total", "counter",
       "<tool_call> blocks that were not a valid call and were returned as content.");
  o << "layerroute_invalid_tool_calls_total " << invalid_tool_calls_ << "\n";
  return o.str();
}

}  // namespace lr::serve
