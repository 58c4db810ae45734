#pragma once
// Line-oriented JSON on stdin/stdout for the tokenize/render commands.
#include <iostream>
#include <string>

#include "core/error.h"
#include "io/json.h"

namespace lr::cli {

// Calls fn(json, line_number) for each non-empty stdin line; a line that is not JSON is an
// error naming the line ("stdin:3: not valid JSON: ...").
template <typename Fn>
void for_each_jsonl_line(std::istream& in, Fn fn) {
  std::string line;
  size_t row = 0;
  while (std::getline(in, line)) {
    ++row;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    fn(parse_json(line, "stdin:" + std::to_string(row)), row);
  }
}

}  // namespace lr::cli
