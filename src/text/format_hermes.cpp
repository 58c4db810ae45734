// NousResearch hermes-function-calling-v1: {"conversations": [{"from", "value"}...],
// plus optional id/category/subcategory/task/schema/tools}. Tool calls sit in gpt turns as
// <tool_call>\n{...}\n</tool_call> blocks whose payload is often a Python literal
// ({'arguments': {...}, 'name': ...}, True/False), and tool results in tool turns as
// <tool_response>...</tool_response> blocks.
#include <string>
#include <string_view>

#include "text/dataset_formats.h"

namespace lr::dataset_detail {

namespace {

constexpr std::string_view kCallOpen = "<tool_call>", kCallClose = "</tool_call>";
constexpr std::string_view kRespOpen = "<tool_response>", kRespClose = "</tool_response>";

// Trims whitespace and literal "\n" escapes: one dataset-card record writes
// "<tool_call>\\n{...}\\n</tool_call>" with the newlines double-escaped.
std::string_view trim_payload(std::string_view s) {
  for (;;) {
    s = trim(s);
    if (s.starts_with("\\n")) {
      s.remove_prefix(2);
    } else if (s.ends_with("\\n")) {
      s.remove_suffix(2);
    } else {
      return s;
    }
  }
}

// One <tool_call> payload → tool call, or nullopt when it cannot be read as one.
std::optional<Json> parse_call(std::string_view payload, RowNotes& notes) {
  bool was_python = false;
  std::optional<Json> j = parse_lenient(trim_payload(payload), &was_python);
  if (!j || !j->is_object()) return std::nullopt;
  if (was_python) notes.add("tool call read as a Python literal");
  Json args = j->contains("arguments") ? (*j)["arguments"] : Json::object();
  std::string name;
  if (j->contains("name") && (*j)["name"].is_string()) {
    name = (*j)["name"].get<std::string>();
  } else if (args.is_object() && args.contains("name") && args["name"].is_string()) {
    // Seen in the dataset card: {"arguments": {..., "name": "F"}}. The name was nested
    // by mistake; hoisting it is the only reading that names a declared function.
    name = args["name"].get<std::string>();
    args.erase("name");
    notes.add("function name found inside \"arguments\"; moved out");
  } else {
    return std::nullopt;
  }
  return make_tool_call(name, std::move(args));
}

// A gpt turn → assistant message; <tool_call> blocks become tool_calls, the rest content.
Json assistant_message(const std::string& value, RowNotes& notes) {
  Json calls = Json::array();
  std::string rest;
  size_t pos = 0;
  for (;;) {
    size_t open = value.find(kCallOpen, pos);
    if (open == std::string::npos) break;
    size_t body = open + kCallOpen.size();
    size_t close = value.find(kCallClose, body);
    if (close == std::string::npos) break;  // unterminated: leave as text
    std::optional<Json> call =
        parse_call(std::string_view(value).substr(body, close - body), notes);
    if (!call) {
      notes.add("unreadable <tool_call> kept as assistant text");
      break;
    }
    rest.append(value, pos, open - pos);
    calls.push_back(std::move(*call));
    pos = close + kCallClose.size();
  }
  rest.append(value, pos, std::string::npos);
  // Plain text stays verbatim; around extracted calls only the separators are dropped.
  Json m = message("assistant", calls.empty() ? value : std::string(trim(rest)));
  if (!calls.empty()) m["tool_calls"] = std::move(calls);
  return m;
}

// A tool turn → one tool message per <tool_response> block (Qwen's template groups
// consecutive tool messages into one turn again), or the whole text when there is none.
void tool_messages(const std::string& value, Json& out) {
  size_t pos = 0;
  bool any = false;
  for (;;) {
    size_t open = value.find(kRespOpen, pos);
    if (open == std::string::npos) break;
    size_t body = open + kRespOpen.size();
    size_t close = value.find(kRespClose, body);
    if (close == std::string::npos) break;
    out.push_back(message("tool", std::string(trim(value.substr(body, close - body)))));
    any = true;
    pos = close + kRespClose.size();
  }
  if (!any) out.push_back(message("tool", std::string(trim(value))));
}

// With a separate tools field the schemas reach the template there, so the copy inside
// the system prompt is cut out rather than shown twice.
std::string strip_tools_block(const std::string& system) {
  size_t open = system.find("<tools>");
  size_t close = system.find("</tools>");
  if (open == std::string::npos || close == std::string::npos || close < open) return system;
  return std::string(trim(system.substr(0, open) + system.substr(close + 8)));
}

}  // namespace

Sample parse_hermes_row(const Json& row, RowNotes& notes) {
  if (!row.is_object()) throw RowError("row is not a JSON object");
  auto conv = row.find("conversations");
  if (conv == row.end()) throw RowError("missing field \"conversations\"");
  if (!conv->is_array()) throw RowError("field \"conversations\" is not a list");
  if (conv->empty()) throw RowError("empty conversation");

  Sample s;
  s.label = StepLabel::ToolCall;  // provenance: a function-calling dataset
  if (auto t = row.find("tools"); t != row.end()) s.tools = parse_tool_list(*t, "tools");
  s.messages = Json::array();
  size_t turn = 0;
  for (const Json& c : *conv) {
    ++turn;
    std::string where = "turn " + std::to_string(turn) + ": ";
    if (!c.is_object()) throw RowError(where + "not an object");
    std::string from, value;
    try {
      from = get_string(c, "from");
      value = get_string(c, "value");
    } catch (const RowError& e) {
      throw RowError(where + e.what());
    }
    if (from == "system") {
      s.messages.push_back(message("system", s.tools.is_null() ? value : strip_tools_block(value)));
    } else if (from == "human") {
      s.messages.push_back(message("user", value));
    } else if (from == "gpt") {
      s.messages.push_back(assistant_message(value, notes));
    } else if (from == "tool") {
      tool_messages(value, s.messages);
    } else {
      throw RowError(where + "unknown role \"" + from + "\"");
    }
  }
  if (!has_assistant_turn(s.messages)) throw RowError("no assistant turn");
  return s;
}

}  // namespace lr::dataset_detail
