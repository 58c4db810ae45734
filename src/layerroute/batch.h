#pragma once
// A padded micro-batch of token rows, what the training graph and evaluation consume.
// Rows are padded only to the longest row; pad positions have attn_mask 0 and loss_mask 0.
#include <cstdint>
#include <vector>

#include "core/step_label.h"

namespace lr {

struct Batch {
  int rows = 0, seq = 0;
  std::vector<int32_t> ids;        // rows * seq
  std::vector<uint8_t> attn_mask;  // rows * seq, 1 for real tokens
  std::vector<uint8_t> loss_mask;  // rows * seq, 1 where ids[t] is a target (predicted at t-1)
  std::vector<StepLabel> labels;   // rows
};

}  // namespace lr
