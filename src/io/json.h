#pragma once
// JSON through nlohmann (Debian's nlohmann-json3-dev). ordered_json keeps key order,
// which chat templates and tool schemas need to round-trip byte-exactly.
#include <nlohmann/json.hpp>
#include <string>

namespace lr {

using Json = nlohmann::ordered_json;

// Parses a whole file; throws lr::Error "PATH: cannot read" / "PATH: not valid JSON: ...".
Json read_json_file(const std::string& path);
// Parses text; `where` names the source (file:row) in the error message.
Json parse_json(std::string_view text, const std::string& where);

}  // namespace lr
