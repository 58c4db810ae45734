// Helpers shared by the dataset format parsers.
#include <cctype>

#include "text/dataset_formats.h"

namespace lr::dataset_detail {

namespace {

bool is_ident(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Rewrites a Python literal (dict/list/str/number/True/False/None) as JSON text. Strings
// in either quote style become double-quoted; escapes other than \' are kept, since
// Python and JSON share them for the common cases. No validation: the JSON parser that
// reads the result does that.
std::string python_literal_to_json(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 16);
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '"' || c == '\'') {
      char q = c;
      out.push_back('"');
      ++i;
      while (i < in.size() && in[i] != q) {
        if (in[i] == '\\' && i + 1 < in.size()) {
          if (in[i + 1] == '\'') {
            out.push_back('\'');  // \' is not a JSON escape
          } else {
            out.push_back('\\');
            out.push_back(in[i + 1]);
          }
          i += 2;
          continue;
        }
        if (in[i] == '"') out.push_back('\\');  // a bare " inside a '...' string
        out.push_back(in[i++]);
      }
      out.push_back('"');
      ++i;  // closing quote (or past the end: the parser rejects the result)
      continue;
    }
    if (is_ident(c) && (i == 0 || !is_ident(in[i - 1]))) {
      size_t j = i;
      while (j < in.size() && is_ident(in[j])) ++j;
      std::string_view word = in.substr(i, j - i);
      if (word == "True") {
        out += "true";
      } else if (word == "False") {
        out += "false";
      } else if (word == "None") {
        out += "null";
      } else {
        out += word;
      }
      i = j;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace

std::optional<Json> parse_lenient(std::string_view text, bool* was_python) {
  if (was_python) *was_python = false;
  Json j = parse_json_or_discarded(text);
  if (!j.is_discarded()) return j;
  std::string fixed = python_literal_to_json(text);
  j = parse_json_or_discarded(fixed);
  if (j.is_discarded()) return std::nullopt;
  if (was_python) *was_python = true;
  return j;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

const std::string& get_string(const Json& row, const char* key) {
  auto it = row.find(key);
  if (it == row.end()) throw RowError(std::string("missing field \"") + key + "\"");
  if (!it->is_string()) throw RowError(std::string("field \"") + key + "\" is not a string");
  return it->get_ref<const std::string&>();
}

Json make_tool_call(const std::string& name, Json arguments) {
  Json fn = Json::object();
  fn["name"] = name;
  fn["arguments"] = std::move(arguments);
  Json call = Json::object();
  call["type"] = "function";
  call["function"] = std::move(fn);
  return call;
}

Json wrap_tool_schema(const Json& schema) {
  if (schema.is_object() && schema.contains("function") && schema.value("type", "") == "function")
    return schema;
  Json t = Json::object();
  t["type"] = "function";
  t["function"] = schema;
  return t;
}

Json parse_tool_list(const Json& v, const char* what) {
  Json list = v;
  if (v.is_null()) return Json();
  if (v.is_string()) {
    std::string_view s = trim(v.get_ref<const std::string&>());
    if (s.empty()) return Json();
    list = parse_json_or_discarded(s);
    if (list.is_discarded())
      throw RowError(std::string("field \"") + what + "\" is not valid JSON");
  }
  if (!list.is_array()) throw RowError(std::string("field \"") + what + "\" is not a list");
  if (list.empty()) return Json();
  Json out = Json::array();
  for (const Json& t : list) {
    if (!t.is_object())
      throw RowError(std::string("field \"") + what + "\" holds a non-object tool");
    out.push_back(wrap_tool_schema(t));
  }
  return out;
}

Json message(const char* role, std::string content) {
  Json m = Json::object();
  m["role"] = role;
  m["content"] = std::move(content);
  return m;
}

bool has_assistant_turn(const Json& messages) {
  for (const Json& m : messages)
    if (m.value("role", "") == "assistant") return true;
  return false;
}

}  // namespace lr::dataset_detail
