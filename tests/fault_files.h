#pragma once
// What the fault tests check about a directory tree after a kill, a full disk or a refused
// write: which files are torn (a temp left behind, JSON that does not parse, a safetensors
// whose tensors run past its end, a CSV row cut short, an SVG without its end), and
// byte-for-byte snapshots to show previous outputs survived. Also the tiny model and data
// they run on.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "demo/synth_traces.h"
#include "eval_test_util.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "temp_path.h"

namespace lr::faulttest {

namespace fs = std::filesystem;

// The CSV logs training appends a row at a time: a kill may cut their last row, which a
// resumed run drops (CsvLog). Every other file is written whole or not at all.
inline bool is_append_log(const fs::path& p) {
  const std::string n = p.filename().string();
  return n == "training_log.csv" || n == "eval_log.csv" || n == "gate_log.csv";
}

enum class After {
  Kill,    // temps (NAME.tmp.PID) and a cut last row of an append-only log are expected
  Settled  // a finished or refused run: nothing torn, nothing left behind
};

inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// "PATH: what is wrong" for each torn file under `dir` (recursively).
inline std::vector<std::string> torn_files(const std::string& dir, After when) {
  std::vector<std::string> bad;
  if (!fs::exists(dir)) return bad;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path p = it->path();
    const std::string name = p.filename().string(), ext = p.extension().string();
    const bool temp = name.find(".tmp.") != std::string::npos;
    if (temp) {
      if (when == After::Settled) bad.push_back(p.string() + ": temp left behind");
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    const std::string text = test::slurp(p.string());
    const auto problem = [&](const std::string& what) { bad.push_back(p.string() + ": " + what); };
    try {
      if (ext == ".json" || name == ".done") {
        (void)parse_json(text, p.string());
      } else if (ext == ".jsonl") {
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);)
          if (!line.empty()) (void)parse_json(line, p.string());
        if (!text.empty() && text.back() != '\n') problem("last row cut short");
      } else if (ext == ".safetensors") {
        const SafetensorsFile f(p.string());  // tensors past the end are refused
      } else if (ext == ".csv") {
        if (when == After::Kill && is_append_log(p)) continue;
        if (text.empty() || text.back() != '\n') problem("last row cut short");
        // Rows of quote-free CSVs hold as many fields as the header.
        if (text.find('"') == std::string::npos) {
          std::istringstream in(text);
          std::string line;
          std::getline(in, line);
          const auto commas = std::count(line.begin(), line.end(), ',');
          while (std::getline(in, line))
            if (std::count(line.begin(), line.end(), ',') != commas) problem("short row " + line);
        }
      } else if (ext == ".svg") {
        if (!ends_with(text, "</svg>\n")) problem("no </svg> at the end");
      } else if (ext == ".md" || ext == ".txt") {
        if (text.empty() || text.back() != '\n') problem("cut short");
      }
    } catch (const std::exception& e) {
      problem(e.what());
    }
  }
  return bad;
}

// Every regular file under `dir` (relative path -> bytes), temps left out.
using Snapshot = std::map<std::string, std::string>;
inline Snapshot snapshot(const std::string& dir) {
  Snapshot s;
  if (!fs::exists(dir)) return s;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().string().find(".tmp.") == std::string::npos)
      s[fs::relative(e.path(), dir).string()] = test::slurp(e.path().string());
  return s;
}

// The names of two snapshots' files that differ, are missing or are new ("" when equal).
inline std::string snapshot_diff(const Snapshot& a, const Snapshot& b) {
  std::string d;
  for (const auto& [k, v] : a) {
    const auto it = b.find(k);
    if (it == b.end())
      d += " -" + k;
    else if (it->second != v)
      d += " ~" + k;
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) d += " +" + k;
  return d;
}

// A 2-block Qwen2 model (hidden 16) with the tiny golden tokenizer, and synthetic tool-call
// (Hermes JSON) and planning (GSM8K JSONL) traces; one per test process, removed at exit.
struct TinySetup {
  std::string root, model, tool, plan;
  TinySetup() {
    root = test::temp_path("lr_fault").string();
    fs::remove_all(root);
    fs::create_directories(root);
    model = root + "/model";
    evaltest::write_model_dir(model, evaltest::tiny_cfg(2, 2048), 11,
                              test::shared_dir() + "/fixtures/golden/qwen2-tiny/tokenizer.json");
    write_synth_traces(root, "d", 8, 8, 12);
    tool = synth_tool_path(root, "d");
    plan = synth_planning_path(root, "d");
  }
  ~TinySetup() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};
inline const TinySetup& tiny_setup() {
  static const TinySetup s;
  return s;
}

}  // namespace lr::faulttest
