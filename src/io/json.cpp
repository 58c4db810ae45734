#include "io/json.h"

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

Json parse_json(std::string_view text, const std::string& where) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    fail(where, ": not valid JSON: ", one_line(e.what()));
  }
}

Json read_json_file(const std::string& path) {
  return parse_json(read_file(path), path);
}

}  // namespace lr
