#pragma once
// Runs the layerroute binary as a user would, capturing exit code, stdout and stderr.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/child_process.h"

namespace lr::test {

struct CliResult {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Quotes s so that split_args gives it back as one word (callers build argument strings
// with it around paths and prompts).
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Splits an argument string into words as a POSIX shell would without expanding anything:
// blanks separate words, '...' is literal, "..." and a backslash escape one character.
// Redirections, pipes, variables and globs are not supported: a test using one fails here
// instead of depending on a shell.
inline std::vector<std::string> split_args(const std::string& s) {
  std::vector<std::string> words;
  std::string w;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(w), w.clear(), in_word = false;
    } else if (c == '\'') {
      const size_t e = s.find('\'', i + 1);
      if (e == std::string::npos) throw std::runtime_error("split_args: unclosed ' in " + s);
      w += s.substr(i + 1, e - i - 1), i = e, in_word = true;
    } else if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        w += s[i];
      }
      if (i >= s.size()) throw std::runtime_error("split_args: unclosed \" in " + s);
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      w += s[++i], in_word = true;
    } else if (std::string_view("|&;<>$`*?()").find(c) != std::string_view::npos) {
      throw std::runtime_error(std::string("split_args: shell syntax '") + c + "' in " + s);
    } else {
      w += c, in_word = true;
    }
  }
  if (in_word) words.push_back(w);
  return words;
}

// Runs the binary with these arguments (split_args; no shell), stdin_text on its stdin and
// env added to its environment.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "",
                         const std::vector<std::pair<std::string, std::string>>& env = {}) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::path(testing::TempDir()) /
                       ("lr_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  const std::string in = (dir / "in").string();
  std::ofstream(in, std::ios::binary) << stdin_text;
  std::vector<std::string> argv{LR_CLI_PATH};
  for (std::string& w : split_args(args)) argv.push_back(std::move(w));
  ChildOptions opts(ChildStream::Capture, ChildStream::Capture, in);
  opts.env = env;
  const ChildResult c = run_child(argv, opts);
  fs::remove_all(dir);
  CliResult r;
  r.rc = c.signal ? -1 : c.exit_code;
  r.out = c.out;
  r.err = c.err;
  return r;
}

inline std::string shared_dir() {
  return LR_SHARED_DIR;
}
inline bool shared_present() {
  return std::filesystem::exists(shared_dir() + "/DESIGN.md");
}

}  // namespace lr::test
