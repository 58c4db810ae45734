#pragma once
// Agentic datasets in their original formats, turned into chat samples with a step
// label, then into token ids with a loss mask. A malformed row is counted and reported,
// never fatal.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/json.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr {

enum class StepLabel : int { ToolCall = 0, Planning = 1 };
const char* step_label_name(StepLabel l);  // "tool_call" / "planning"

enum class DataFormat { Hermes, Glaive, Gsm8k, Turing, Messages };

struct DataSpec {
  DataFormat format;
  std::string path;
  static DataSpec parse(const std::string& spec);  // "hermes:FILE" ...; throws on bad format
};

struct Sample {
  Json messages;  // OpenAI-style messages (assistant tool calls in "tool_calls")
  Json tools;     // array of tool schemas, or null
  StepLabel label = StepLabel::Planning;
  std::string origin;  // "FILE:ROW" for messages
};

struct LoadReport {
  std::string path;
  size_t rows = 0;       // rows seen
  size_t loaded = 0;     // samples produced
  size_t malformed = 0;  // rows skipped
  std::vector<std::string> errors;  // first few "FILE:ROW: why" lines
};

// Reads up to `cap` samples (0 = all). Label from provenance (Hermes/Glaive: tool_call,
// GSM8K/Turing: planning); for Messages: tool_call iff an assistant turn has a tool call.
std::vector<Sample> load_dataset(const DataSpec& spec, size_t cap, LoadReport* report);

enum class LossOn { All, Assistant };

struct TokenizedSample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> loss_mask;  // 1 where ids[t] is a target (predicted at t-1); [0] is 0
  StepLabel label = StepLabel::Planning;
};

// Renders with the chat template, tokenizes, masks (all tokens, or the assistant turns'
// tokens), truncates to max_len.
TokenizedSample tokenize_sample(const Sample& s, const Tokenizer& tok, const ChatTemplate& tmpl,
                                LossOn loss_on, size_t max_len);

// Seeded shuffle then split: the first round(n * val_fraction) go to validation.
void split_train_val(std::vector<TokenizedSample> all, double val_fraction, uint64_t seed,
                     std::vector<TokenizedSample>* train, std::vector<TokenizedSample>* val);

// A padded micro-batch: rows padded only to the longest row; pad positions have
// attn_mask 0 and loss_mask 0.
struct Batch {
  int rows = 0, seq = 0;
  std::vector<int32_t> ids;        // rows * seq
  std::vector<uint8_t> attn_mask;  // rows * seq, 1 for real tokens
  std::vector<uint8_t> loss_mask;  // rows * seq, 1 where ids[t] is a target (predicted at t-1)
  std::vector<StepLabel> labels;   // rows
};
Batch make_batch(const std::vector<const TokenizedSample*>& rows, int32_t pad_id);

}  // namespace lr
