#pragma once
// Training data: every --data file loaded (capped), rendered with the chat template,
// tokenized with its loss mask, pooled and split 90/10 with the run's seed; then the
// order in which micro-batches visit the training set.
#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"
#include "text/dataset.h"

namespace lr {

struct TrainConfig;

struct DataReport {
  std::string spec;
  LoadReport load;
  size_t tokenized = 0;      // samples kept
  size_t render_errors = 0;  // samples the template or tokenizer rejected
  size_t no_targets = 0;     // samples with no loss position left (dropped)
  size_t truncated = 0;      // samples cut at --max-seq-len
  size_t tool_call = 0, planning = 0;
  size_t tokens = 0;
  std::vector<std::string> errors;  // first few render errors
  Json to_json() const;
};

struct TrainData {
  std::vector<TokenizedSample> train, val;
  std::vector<DataReport> reports;
  Json to_json() const;  // reports + split sizes
};

// Checks every spec parses and every file exists (cheap, before the model loads).
std::vector<DataSpec> check_data_specs(const std::vector<std::string>& specs);

TrainData prepare_data(const TrainConfig& cfg, const Tokenizer& tok, const ChatTemplate& tmpl);

// The visiting order of `n` training samples in `epoch`: a Fisher–Yates shuffle keyed by
// (seed, epoch) alone, so a resumed run rebuilds it from the two numbers.
std::vector<uint32_t> epoch_order(size_t n, uint64_t seed, int64_t epoch);

}  // namespace lr
