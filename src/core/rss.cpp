#include "core/rss.h"

#include <fstream>
#include <string>

namespace lr {
namespace {
// A "Name:   123 kB" line of /proc/self/status, in bytes.
size_t status_kb(const char* name) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(name) + ":";
  while (std::getline(f, line)) {
    if (line.rfind(key, 0) == 0) return size_t(std::stoull(line.substr(key.size()))) * 1024;
  }
  return 0;
}
}  // namespace

size_t peak_rss_bytes() {
  return status_kb("VmHWM");
}
size_t current_rss_bytes() {
  return status_kb("VmRSS");
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  f.flush();
  return bool(f);
}
}  // namespace lr
