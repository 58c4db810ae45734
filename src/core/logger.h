#pragma once
// The one piece of global state: a verbosity level for messages on stderr.
#include <iostream>
#include <sstream>

namespace lr {

enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };
void set_log_level(LogLevel l);
LogLevel log_level();

template <typename... Args>
void log_info(const Args&... args) {
  if (log_level() < LogLevel::Info) return;
  std::ostringstream os;
  (os << ... << args);
  std::cerr << os.str() << "\n";
}

}  // namespace lr
