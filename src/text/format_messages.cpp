// OpenAI-style chat rows: {"messages": [{"role", "content", "tool_calls"?}...],
// "tools": [...]?}. Validated and normalised (null content → "", string arguments that
// hold a JSON object → the object, since Qwen's template writes arguments with tojson).
#include <string>

#include "text/dataset_formats.h"

namespace lr::dataset_detail {

namespace {

Json read_tool_calls(const Json& calls, const std::string& where, RowNotes& notes) {
  if (!calls.is_array()) throw RowError(where + "\"tool_calls\" is not a list");
  Json out = Json::array();
  for (const Json& c : calls) {
    if (!c.is_object()) throw RowError(where + "a tool call is not an object");
    // {"type":"function","function":{name, arguments}}, or the bare {name, arguments}.
    const Json& f = c.contains("function") ? c["function"] : c;
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
      throw RowError(where + "a tool call has no function name");
    Json args = f.contains("arguments") ? f["arguments"] : Json::object();
    if (args.is_string()) {
      const std::string& text = args.get_ref<const std::string&>();
      Json j = parse_json_or_discarded(text);
      if (!j.is_discarded() && j.is_object()) {
        args = std::move(j);
      } else {
        notes.add("tool-call arguments are not a JSON object; kept as a string");
      }
    }
    Json call = make_tool_call(f["name"].get<std::string>(), std::move(args));
    if (c.contains("id")) call["id"] = c["id"];
    out.push_back(std::move(call));
  }
  return out;
}

}  // namespace

Sample parse_messages_row(const Json& row, RowNotes& notes) {
  if (!row.is_object()) throw RowError("row is not a JSON object");
  auto msgs = row.find("messages");
  if (msgs == row.end()) throw RowError("missing field \"messages\"");
  if (!msgs->is_array()) throw RowError("field \"messages\" is not a list");
  if (msgs->empty()) throw RowError("empty conversation");

  Sample s;
  if (auto t = row.find("tools"); t != row.end()) s.tools = parse_tool_list(*t, "tools");
  s.messages = Json::array();
  bool calls_tools = false;
  size_t turn = 0;
  for (const Json& m : *msgs) {
    std::string where = "message " + std::to_string(++turn) + ": ";
    if (!m.is_object()) throw RowError(where + "not an object");
    auto r = m.find("role");
    if (r == m.end() || !r->is_string()) throw RowError(where + "missing or non-string \"role\"");
    const std::string& role = r->get_ref<const std::string&>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      throw RowError(where + "unknown role \"" + role + "\"");
    std::string content;
    if (auto c = m.find("content"); c != m.end() && !c->is_null()) {
      if (!c->is_string()) throw RowError(where + "\"content\" is not a string");
      content = c->get<std::string>();
    }
    Json out = message(role.c_str(), content);
    if (auto tc = m.find("tool_calls"); tc != m.end() && !tc->is_null()) {
      if (role != "assistant") throw RowError(where + "tool_calls outside an assistant turn");
      Json calls = read_tool_calls(*tc, where, notes);
      if (!calls.empty()) {
        out["tool_calls"] = std::move(calls);
        calls_tools = true;
      }
    }
    // A Hermes-style call written into the text counts as a tool call too.
    if (role == "assistant" && content.find("<tool_call>") != std::string::npos) calls_tools = true;
    if (role == "tool" && m.contains("name") && m["name"].is_string()) out["name"] = m["name"];
    s.messages.push_back(std::move(out));
  }
  if (!has_assistant_turn(s.messages)) throw RowError("no assistant turn");
  s.label = calls_tools ? StepLabel::ToolCall : StepLabel::Planning;
  return s;
}

}  // namespace lr::dataset_detail
