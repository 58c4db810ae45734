#include "io/json.h"

#include <algorithm>

#include "core/error.h"
#include "io/atomic_file.h"

namespace lr {

namespace {

// nlohmann messages are one line already, but "last read" can echo raw input; keep the
// error to a single line whatever the input held.
std::string one_line(std::string s) {
  // Drop nlohmann's "[json.exception.parse_error.101] " prefix: noise to a user.
  if (s.rfind("[json.exception", 0) == 0 && s.find("] ") != std::string::npos)
    s.erase(0, s.find("] ") + 2);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

size_t json_depth(std::string_view text, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

void check_json_depth(std::string_view text, const std::string& where) {
  LR_CHECK(json_depth(text) <= kMaxJsonDepth, where, ": JSON nests deeper than ", kMaxJsonDepth,
           " levels");
}

Json parse_json_or_discarded(std::string_view text) {
  if (json_depth(text) > kMaxJsonDepth) return Json(Json::value_t::discarded);
  return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

Json parse_json(std::string_view text, const std::string& where) {
  check_json_depth(text, where);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for 1e400
    fail(where, ": not valid JSON: ", one_line(e.what()));
  }
}

Json read_json_file(const std::string& path) {
  return parse_json(read_file(path), path);
}

}  // namespace lr
