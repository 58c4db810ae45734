#pragma once
// Agentic datasets in their original formats, turned into chat samples with a step
// label, then into token ids with a loss mask. A malformed row is counted and reported,
// never fatal.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/step_label.h"
#include "io/json.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace lr {


enum class DataFormat { Hermes, Glaive, Gsm8k, Turing, Messages };

struct DataSpec {
  DataFormat format;
  std::string path;
  static DataSpec parse(const std::string& spec);  // "hermes:FILE" ...; throws on bad format
};
const char* data_format_name(DataFormat f);  // "hermes", "glaive", "gsm8k", "turing", "messages"

struct Sample {
  Json messages;  // OpenAI-style messages (assistant tool calls in "tool_calls")
  Json tools;     // array of tool schemas, or null
  StepLabel label = StepLabel::Planning;
  std::string origin;  // "FILE:ROW" for messages
};

struct LoadReport {
  std::string path;
  size_t rows = 0;                  // rows seen
  size_t loaded = 0;                // samples produced
  size_t malformed = 0;             // rows skipped
  std::vector<std::string> errors;  // first few "FILE:ROW: why" lines
  // Rows loaded only after a lenient repair (a Python-literal tool call, a misplaced
  // "name", a call kept as text): counted so that silent guessing is visible.
  size_t repaired = 0;
  std::vector<std::string> notes;  // first few "FILE:ROW: what" lines
};

// A file whose first non-blank character is '[' is one JSON array (an element is a row);
// otherwise it is JSONL (a non-blank line is a row). ROW in messages is 1-based (line
// number, or element index). A missing file or an unparseable array is an lr::Error.
// Rows with no assistant turn are malformed (nothing to learn from).
// Reads up to `cap` samples (0 = all). Label from provenance (Hermes/Glaive: tool_call,
// GSM8K/Turing: planning); for Messages: tool_call iff an assistant turn has a tool call.
// Memory stays bounded by `limits` whatever the file holds: JSONL is read row by row and a
// row over max_row_bytes is a malformed row, skipped without being held; a JSON-array file
// is parsed whole, so one over max_array_bytes is an lr::Error.
struct DatasetLimits {
  size_t max_row_bytes = size_t(64) << 20;
  size_t max_array_bytes = size_t(512) << 20;
};
std::vector<Sample> load_dataset(const DataSpec& spec, size_t cap, LoadReport* report,
                                 const DatasetLimits& limits = {});

enum class LossOn { All, Assistant };

struct TokenizedSample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> loss_mask;  // 1 where ids[t] is a target (predicted at t-1); [0] is 0
  StepLabel label = StepLabel::Planning;
};

// Renders with the chat template, tokenizes, masks (all tokens, or the assistant turns'
// tokens), truncates to max_len (0 = no limit).
TokenizedSample tokenize_sample(const Sample& s, const Tokenizer& tok, const ChatTemplate& tmpl,
                                LossOn loss_on, size_t max_len);

// The pieces of tokenize_sample, with the renderer and encoder passed in so that they can
// be tested without a model.
using RenderFn = std::function<std::string(const Json& messages, bool add_generation_prompt)>;
using EncodeFn = std::function<std::vector<int32_t>(std::string_view text)>;
struct TextSpan {
  size_t begin = 0, end = 0;  // byte offsets into the rendered text, [begin, end)
};
// One span per assistant turn of the ChatML text `full` = render(messages, false): from
// after "<|im_start|>assistant\n" through its closing "<|im_end|>". Found by rendering
// prefixes (exact even if a user turn quotes ChatML markers); falls back to scanning the
// text for the markers when the template is not prefix-stable or the chat has more than 1024
// messages (prefix rendering is quadratic in its length).
std::vector<TextSpan> assistant_spans(const Json& messages, const std::string& full,
                                      const RenderFn& render);
// Encodes `text` piece by piece, split at the span edges, so every token lies wholly
// inside or outside a span. This can differ from encoding the whole text only at those
// edges, which in ChatML sit right after "\n" or "<|im_end|>" (a special token), where
// the pre-tokeniser splits anyway, except when an assistant turn begins with whitespace.
TokenizedSample tokenize_spans(const std::string& text, const std::vector<TextSpan>& spans,
                               const EncodeFn& encode, LossOn loss_on, size_t max_len,
                               StepLabel label);

// Seeded shuffle then split: the first round(n * val_fraction) go to validation.
void split_train_val(std::vector<TokenizedSample> all, double val_fraction, uint64_t seed,
                     std::vector<TokenizedSample>* train, std::vector<TokenizedSample>* val);

}  // namespace lr
