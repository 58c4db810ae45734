#pragma once
// Task metrics on generated text, shared by `layerroute eval` (the model's own greedy
// outputs) and `layerroute score` (any system's outputs), so both score alike.
//
// Tool calls. A turn's calls are the `<tool_call>...</tool_call>` blocks whose payload
// parses as a JSON object with a string "name"; "arguments" given as a JSON string holding
// JSON is parsed first, and a missing "arguments" is {}. The payload's end is found by
// scanning the JSON (strings included), so a "</tool_call>" inside an argument string does
// not cut the block; a block without its closing tag is not a call. Over the turns whose
// reference has at least one call:
//   parse_rate        share with at least one call
//   name_accuracy     share whose sequence of called names equals the reference's
//   args_exact_match  share whose calls equal the reference's in order, name and arguments
//                     compared as JSON values (object key order ignored, 1 == 1.0)
//   args_f1           mean F1 of the turn's (call index, key, value) argument triples
//                     against the reference's (arguments that are not an object count as one
//                     key-less triple); a turn where neither side has a triple scores 1 when
//                     it made as many calls as the reference, else 0
// and over the turns whose reference has no call:
//   no_call_accuracy  share with no `<tool_call>` tag at all
//
// GSM8K. Numbers are compared exactly as decimals after removing commas, so 1,234 ==
// 1234, 2.50 == 2.5 and -0 == 0. The reference's number is the first after its "####"
// (its last number when it has no "####"). accuracy_hash compares the first number after
// the prediction's first "####" (no "####", or no number after it, is wrong);
// accuracy_last_number compares the prediction's last number. ended = share of outputs that
// stopped on an end-of-sequence token within the budget, over those where that is known.
// A metric whose denominator is empty is NaN (null in JSON).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"

namespace lr::eval {

struct ToolCall {
  std::string name;
  Json arguments;  // an object as a rule; anything else is kept as given
};

// The calls of a model output, in order (see above).
std::vector<ToolCall> extract_tool_calls(std::string_view text);
// Whether the text has a "<tool_call>" tag at all, parseable or not.
bool has_tool_call_tag(std::string_view text);

// Reference calls: [{"name", "arguments"}...] or OpenAI's [{"type": "function",
// "function": {"name", "arguments"}}...]; string arguments holding JSON are parsed.
// Throws lr::Error naming `where` for anything else.
std::vector<ToolCall> reference_tool_calls(const Json& calls, const std::string& where);

// JSON values equal regardless of object key order and number formatting (1 == 1.0).
bool json_equal(const Json& a, const Json& b);

struct ToolCallTurnScore {
  bool ref_has_call = false;
  bool parsed = false;      // at least one call
  bool names = false;       // name sequence equal
  bool exact = false;       // calls equal
  double f1 = 0;            // argument triples
  bool no_call_ok = false;  // ref has no call and the text has no tag
};
ToolCallTurnScore score_tool_call_turn(std::string_view pred_text,
                                       const std::vector<ToolCall>& ref);

struct ToolCallMetrics {
  int n = 0, n_call_turns = 0, n_no_call_turns = 0;
  int parsed = 0, names = 0, exact = 0, no_call_ok = 0;
  double f1_sum = 0;
  void add(const ToolCallTurnScore& s);
  double parse_rate() const;
  double name_accuracy() const;
  double args_exact_match() const;
  double args_f1() const;
  double no_call_accuracy() const;
  Json to_json() const;  // n, parse_rate, name_accuracy, ... (NaN as null)
};

// A decimal number in canonical form: sign, digits without leading zeros, '.', fraction
// without trailing zeros ("-1234.5", "0", "2.5"). Commas are dropped before.
struct Decimal {
  std::string canon;
  bool operator==(const Decimal&) const = default;
};
std::vector<Decimal> find_numbers(std::string_view text);
// The number after the first "####", if any.
std::optional<Decimal> hash_answer(std::string_view text);
std::optional<Decimal> last_number(std::string_view text);
// The reference's answer (after "####", else its last number).
std::optional<Decimal> reference_answer(std::string_view answer);

struct Gsm8kTurnScore {
  bool hash_ok = false, last_ok = false;
};
Gsm8kTurnScore score_gsm8k_turn(std::string_view pred_text, const Decimal& ref);

struct Gsm8kMetrics {
  int n = 0, hash_ok = 0, last_ok = 0;
  int n_end_known = 0, ended = 0;
  // ended: std::nullopt when the caller cannot tell (text from elsewhere without a flag).
  void add(const Gsm8kTurnScore& s, std::optional<bool> ended);
  double accuracy_hash() const;
  double accuracy_last_number() const;
  double ended_rate() const;
  Json to_json() const;  // n, accuracy_hash, accuracy_last_number, ended (NaN as null)
};

// NaN → null, anything else the number.
Json number_or_null(double v);

}  // namespace lr::eval
