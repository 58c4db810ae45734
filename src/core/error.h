#pragma once
// Errors are exceptions carrying one line that names the file/tensor/row at fault;
// the CLI turns them into "error: ..." and a non-zero exit.
#include <sstream>
#include <stdexcept>
#include <string>

namespace lr {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// fail("file ", path, ": tensor ", name, " has shape ...") — concatenates with operator<<.
template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  throw Error(os.str());
}

#define LR_CHECK(cond, ...)          \
  do {                               \
    if (!(cond)) ::lr::fail(__VA_ARGS__); \
  } while (0)

}  // namespace lr
