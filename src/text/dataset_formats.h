#pragma once
// Internal to the dataset loader: one row parser per source format, each turning a parsed
// JSON row into OpenAI-style messages. A parser throws RowError for a malformed row (the
// loader counts it and goes on) and records lenient repairs in RowNotes.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "text/dataset.h"

namespace lr::dataset_detail {

struct RowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RowNotes {
  std::vector<std::string> items;
  void add(std::string what) { items.push_back(std::move(what)); }
};

Sample parse_hermes_row(const Json& row, RowNotes& notes);
// Glaive's original {system, chat} record, or LLaMA-Factory's derived ShareGPT layout.
Sample parse_glaive_row(const Json& row, RowNotes& notes);
// GSM8K and Turing-Open-Reasoning: {question, answer}.
Sample parse_qa_row(const Json& row);
Sample parse_messages_row(const Json& row, RowNotes& notes);

// ---- shared helpers (format_common.cpp) ----

// Strict JSON first; then Python-literal syntax (single-quoted strings, True/False/None),
// which the Hermes tool calls use. nullopt when neither parses.
std::optional<Json> parse_lenient(std::string_view text, bool* was_python = nullptr);
std::string_view trim(std::string_view s);
// Requires row[key] to be a string; RowError naming the key otherwise.
const std::string& get_string(const Json& row, const char* key);
// {"type":"function","function":{name, arguments}}; arguments kept as given.
Json make_tool_call(const std::string& name, Json arguments);
// Wraps a bare function schema {name, description, parameters} as OpenAI's
// {"type":"function","function":{...}}, the shape Qwen's template was trained on; an
// already-wrapped tool passes through.
Json wrap_tool_schema(const Json& schema);
// A tool list given as a JSON array or as a string holding one; null for none/empty.
Json parse_tool_list(const Json& v, const char* what);
Json message(const char* role, std::string content);
bool has_assistant_turn(const Json& messages);

}  // namespace lr::dataset_detail
