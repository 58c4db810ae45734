#pragma once
// Runs the layerroute binary as a user would, capturing exit code, stdout and stderr.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

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

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// args are passed through the shell already quoted by the caller where needed; env adds
// variables to the child's environment.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "",
                         const std::vector<std::pair<std::string, std::string>>& env = {}) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::path(testing::TempDir()) /
                       ("lr_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  const std::string in = (dir / "in").string(), out = (dir / "out").string(),
                    err = (dir / "err").string();
  std::ofstream(in, std::ios::binary) << stdin_text;
  std::string vars;
  for (const auto& [k, v] : env) vars += k + "=" + shell_quote(v) + " ";
  const std::string cmd = vars + std::string(LR_CLI_PATH) + " " + args + " <" + shell_quote(in) +
                          " >" + shell_quote(out) + " 2>" + shell_quote(err);
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove_all(dir);
  return r;
}

inline std::string shared_dir() {
  return LR_SHARED_DIR;
}
inline bool shared_present() {
  return std::filesystem::exists(shared_dir() + "/DESIGN.md");
}

}  // namespace lr::test
