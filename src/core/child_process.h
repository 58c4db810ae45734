#pragma once
// Runs another program (usually this binary: `layerroute bench-train`, `layerroute train`) as a
// child process from an argv vector: no shell, so no quoting, and a path with spaces, quotes
// or '$' reaches the child as it is. Each of the child's stdout and stderr is inherited,
// captured or discarded; its stdin is ours or a file.
#include <string>
#include <utility>
#include <vector>

namespace lr {

enum class ChildStream { Inherit, Capture, Discard };

struct ChildOptions {
  ChildOptions(ChildStream out_ = ChildStream::Inherit, ChildStream err_ = ChildStream::Inherit,
               std::string stdin_path_ = {})
      : out(out_), err(err_), stdin_path(std::move(stdin_path_)) {}
  ChildStream out, err;
  std::string stdin_path;  // "" : the child reads our stdin
  // Variables set (or replaced) in the child's environment, which is otherwise ours.
  std::vector<std::pair<std::string, std::string>> env;
};

struct ChildResult {
  int exit_code = -1;    // the child's exit status; -1 when a signal ended it
  int signal = 0;        // the signal that ended it; 0 when it exited
  std::string out, err;  // what it wrote, for the streams asked to be captured
  bool ok() const { return signal == 0 && exit_code == 0; }
  std::string status() const;  // "exit 3" or "signal 9", for error messages
};

// argv[0] is the program's path (no PATH search: find_program). Waits for the child; throws
// lr::Error when it cannot be started (a missing or non-executable program, an unreadable
// stdin_path), naming what is missing. A child that fails is not an exception: its status is
// in the result.
ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& opts = {});

// The first executable `name` in the directories of $PATH, or "" when there is none.
std::string find_program(const std::string& name);

// The path of the running executable (/proc/self/exe), to start this binary again.
std::string self_executable();

}  // namespace lr
