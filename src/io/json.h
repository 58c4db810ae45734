#pragma once
// JSON through nlohmann (Debian's nlohmann-json3-dev). ordered_json keeps key order,
// which chat templates and tool schemas need to round-trip byte-exactly.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lr {

using Json = nlohmann::ordered_json;

// The deepest nesting of arrays and objects any JSON we read may have. nlohmann parses
// iteratively, but copying, comparing and dumping a value recurse once per level, and so
// does the code that walks tool schemas; a stranger's "[[[[..." must not reach them.
// Real inputs (configs, tool schemas, chats) nest a few levels.
constexpr size_t kMaxJsonDepth = 256;

// Nesting depth of the arrays/objects in `text` (brackets inside strings skipped), counted
// without parsing; stops counting once past `limit`.
size_t json_depth(std::string_view text, size_t limit = kMaxJsonDepth);
// Throws lr::Error "WHERE: JSON nests deeper than 256 levels" when json_depth says so.
void check_json_depth(std::string_view text, const std::string& where);

// Parses a whole file; throws lr::Error "PATH: cannot read" / "PATH: not valid JSON: ...".
Json read_json_file(const std::string& path);
// Parses text; `where` names the source (file:row) in the error message.
Json parse_json(std::string_view text, const std::string& where);
// For parsers that try several readings of a string: the value, or a discarded value
// (is_discarded()) when the text is not JSON or nests deeper than kMaxJsonDepth.
Json parse_json_or_discarded(std::string_view text);

}  // namespace lr
