#pragma once
// One sequence under routing (DESIGN §3 "Inference with a KV cache"): what a routed batch
// keeps per row between calls. Its length is its KV cache's `len`, nothing else.
#include <vector>

#include "layerroute/gates.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace lr {

struct RoutedSeq {
  // Positions [p0, p1) share one gate vector. For each run of consecutive closed blocks,
  // run_states[k] holds the hidden state entering its first block, [p1 - p0, H].
  struct Step {
    int p0 = 0, p1 = 0;
    std::vector<int> run_of_block;  // [L]: run index of a closed block, -1 when open
    std::vector<std::vector<float>> run_states;
  };

  RoutedSeq(const ModelConfig& c, int max_T, GateSpec spec);

  int len() const { return cache.len; }
  int blocks_run() const;
  // Back to an empty sequence (the cache's pages stay committed for reuse).
  void reset();

  KVCache cache;
  GateSpec spec;                     // gate mode from the next step on
  std::vector<unsigned char> gates;  // [L] of the current step (1 = the block runs)
  std::vector<float> soft;           // [L] sigmoid(w.pool + b), or 1/0 when not a router's
  std::vector<int> filled;           // [L]: K/V of positions [0, filled[l]) exist at block l
  std::vector<double> sums;          // [L, H]: sum over positions of the state entering l
  std::vector<Step> steps;           // sorted by p0; the last one is the current step
};

}  // namespace lr
