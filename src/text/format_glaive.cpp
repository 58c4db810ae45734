// glaiveai glaive-function-calling-v2. Two layouts, detected per record:
//  - the original {"system": "SYSTEM: ... -\n{schema}\n\n{schema}\n", "chat": "USER: ...
//    \n\n\nASSISTANT: <functioncall> {"name": .., "arguments": '{..}'} <|endoftext|>
//    \n\n\nFUNCTION RESPONSE: {..}\n\n\nASSISTANT: ..."};
//  - LLaMA-Factory's DERIVED ShareGPT conversion (not glaive's own format; used because
//    the original file is scarce): {"conversations": [{"from": human|gpt|function_call|
//    observation, "value"}], "tools": "<JSON string of schemas>"}.
#include <sstream>
#include <string>
#include <string_view>

#include "text/dataset_formats.h"

namespace lr::dataset_detail {

namespace {

constexpr std::string_view kEndOfText = "<|endoftext|>";
constexpr std::string_view kFunctionCall = "<functioncall>";

std::string drop_endoftext(std::string_view s) {
  std::string out;
  size_t pos = 0;
  for (size_t at; (at = s.find(kEndOfText, pos)) != std::string_view::npos;) {
    out.append(s.substr(pos, at - pos));
    pos = at + kEndOfText.size();
  }
  out.append(s.substr(pos));
  return out;
}

// Glaive arguments are usually a JSON object written as a single-quoted string; an
// object is what the chat template expects, so parse it when it parses.
Json read_arguments(Json args, RowNotes& notes) {
  if (!args.is_string()) return args;
  const std::string& s = args.get_ref<const std::string&>();
  Json j = parse_json_or_discarded(s);
  if (!j.is_discarded() && j.is_object()) return j;
  notes.add("function-call arguments are not a JSON object; kept as a string");
  return args;
}

// Reads the text after <functioncall>; nullopt when it holds no name.
std::optional<Json> read_function_call(std::string_view text, RowNotes& notes) {
  size_t b = text.find('{'), e = text.rfind('}');
  if (b == std::string_view::npos || e == std::string_view::npos || e < b) return std::nullopt;
  std::string body(text.substr(b, e - b + 1));
  Json obj = parse_json_or_discarded(body);
  if (obj.is_discarded()) {
    // "arguments": '...' is not JSON: cut the quoted span out, parse the rest for the
    // name and the span itself for the arguments. The span ends at the last quote, since
    // the arguments JSON may itself hold apostrophes.
    size_t key = body.find("\"arguments\"");
    size_t q1 = key == std::string::npos ? key : body.find('\'', key);
    size_t q2 = body.rfind('\'');
    if (q1 == std::string::npos || q2 <= q1) return std::nullopt;
    std::string inner = body.substr(q1 + 1, q2 - q1 - 1);
    obj = parse_json_or_discarded(body.substr(0, q1) + "null" + body.substr(q2 + 1));
    if (obj.is_discarded() || !obj.is_object()) return std::nullopt;
    obj["arguments"] = inner;
  }
  if (!obj.is_object() || !obj.contains("name") || !obj["name"].is_string()) return std::nullopt;
  Json args = obj.contains("arguments") ? read_arguments(obj["arguments"], notes) : Json::object();
  return make_tool_call(obj["name"].get<std::string>(), std::move(args));
}

// Splits "SYSTEM: prose -\n{schema}\n\n{schema}" into prose and tools; when the schemas
// do not all parse as objects the whole text stays the system prompt.
void read_system(const std::string& system, Sample& s, RowNotes& notes) {
  std::string_view text = trim(system);
  if (text.starts_with("SYSTEM:")) text = trim(text.substr(7));
  size_t dash = text.find("-\n");
  if (dash != std::string_view::npos && trim(text.substr(dash + 2)).starts_with("{")) {
    std::istringstream in{std::string(text.substr(dash + 2))};
    Json tools = Json::array();
    bool ok = true;
    try {
      while ((in >> std::ws).peek() != std::char_traits<char>::eof()) {
        Json j;
        in >> j;  // reads one value and stops, so concatenated schemas come one by one
        if (!j.is_object()) ok = false;
        tools.push_back(wrap_tool_schema(j));
      }
    } catch (const nlohmann::json::exception&) {
      ok = false;
    }
    if (ok && !tools.empty()) {
      s.tools = std::move(tools);
      s.messages.push_back(message("system", std::string(trim(text.substr(0, dash)))));
      return;
    }
    notes.add("function schemas in the system prompt do not parse; kept as text");
  }
  if (!text.empty()) s.messages.push_back(message("system", std::string(text)));
}

void read_chat(const std::string& chat, Sample& s, RowNotes& notes) {
  struct Marker {
    std::string_view text;
    const char* role;
  };
  static const Marker kMarkers[] = {
      {"USER:", "user"}, {"ASSISTANT:", "assistant"}, {"FUNCTION RESPONSE:", "tool"}};
  // A marker counts only at the start of a line.
  struct Hit {
    size_t at, body;
    const char* role;
  };
  std::vector<Hit> hits;
  for (size_t pos = 0; pos < chat.size();) {
    for (const Marker& m : kMarkers)
      if (std::string_view(chat).substr(pos).starts_with(m.text))
        hits.push_back({pos, pos + m.text.size(), m.role});
    size_t nl = chat.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (trim(chat).empty()) throw RowError("empty conversation");
  if (hits.empty() || !trim(std::string_view(chat).substr(0, hits[0].at)).empty())
    throw RowError("chat does not start with USER:/ASSISTANT:/FUNCTION RESPONSE:");
  for (size_t i = 0; i < hits.size(); ++i) {
    size_t end = i + 1 < hits.size() ? hits[i + 1].at : chat.size();
    std::string body(trim(drop_endoftext(chat.substr(hits[i].body, end - hits[i].body))));
    std::string_view role = hits[i].role;
    if (role != "assistant" || body.find(kFunctionCall) == std::string::npos) {
      s.messages.push_back(message(hits[i].role, std::move(body)));
      continue;
    }
    size_t at = body.find(kFunctionCall);
    std::optional<Json> call =
        read_function_call(std::string_view(body).substr(at + kFunctionCall.size()), notes);
    if (!call) {
      notes.add("unreadable <functioncall> kept as assistant text");
      s.messages.push_back(message("assistant", std::move(body)));
      continue;
    }
    Json m = message("assistant", std::string(trim(std::string_view(body).substr(0, at))));
    m["tool_calls"] = Json::array({std::move(*call)});
    s.messages.push_back(std::move(m));
  }
}

// LLaMA-Factory's derived layout (see the file comment).
void read_derived(const Json& row, Sample& s, RowNotes& notes) {
  const Json& conv = row["conversations"];
  if (!conv.is_array()) throw RowError("field \"conversations\" is not a list");
  if (conv.empty()) throw RowError("empty conversation");
  if (auto t = row.find("tools"); t != row.end()) s.tools = parse_tool_list(*t, "tools");
  size_t turn = 0;
  for (const Json& c : conv) {
    std::string where = "turn " + std::to_string(++turn) + ": ";
    if (!c.is_object()) throw RowError(where + "not an object");
    std::string from, value;
    try {
      from = get_string(c, "from");
      value = get_string(c, "value");
    } catch (const RowError& e) {
      throw RowError(where + e.what());
    }
    if (from == "system") {
      s.messages.push_back(message("system", value));
    } else if (from == "human") {
      s.messages.push_back(message("user", value));
    } else if (from == "gpt") {
      s.messages.push_back(message("assistant", value));
    } else if (from == "observation") {
      s.messages.push_back(message("tool", value));
    } else if (from == "function_call") {
      // One call as an object, parallel calls as a list of them.
      Json v = parse_json_or_discarded(value);
      if (v.is_object()) v = Json::array({v});
      if (v.is_discarded() || !v.is_array() || v.empty())
        throw RowError(where + "function_call is not a JSON object");
      Json calls = Json::array();
      for (const Json& f : v) {
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
          throw RowError(where + "function_call has no \"name\"");
        Json args =
            f.contains("arguments") ? read_arguments(f["arguments"], notes) : Json::object();
        calls.push_back(make_tool_call(f["name"].get<std::string>(), std::move(args)));
      }
      Json m = message("assistant", "");
      m["tool_calls"] = std::move(calls);
      s.messages.push_back(std::move(m));
    } else {
      throw RowError(where + "unknown role \"" + from + "\"");
    }
  }
}

}  // namespace

Sample parse_glaive_row(const Json& row, RowNotes& notes) {
  if (!row.is_object()) throw RowError("row is not a JSON object");
  Sample s;
  s.label = StepLabel::ToolCall;  // provenance: a function-calling dataset
  s.messages = Json::array();
  if (row.contains("conversations")) {
    read_derived(row, s, notes);
  } else if (row.contains("chat")) {
    if (row.contains("system")) read_system(get_string(row, "system"), s, notes);
    read_chat(get_string(row, "chat"), s, notes);
  } else {
    throw RowError("neither \"chat\" (glaive) nor \"conversations\" (derived layout)");
  }
  if (!has_assistant_turn(s.messages)) throw RowError("no assistant turn");
  return s;
}

}  // namespace lr::dataset_detail
