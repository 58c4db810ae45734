#include "train/train_logs.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"

namespace lr {

CsvLog::CsvLog(std::string path, const std::vector<std::string>& header, int64_t keep_upto)
    : path_(std::move(path)) {
  std::string head;
  for (size_t i = 0; i < header.size(); ++i) head += (i ? "," : "") + header[i];
  std::string body = head + "\n";
  if (keep_upto >= 0 && std::filesystem::exists(path_)) {
    std::istringstream in(read_file(path_));
    std::string line;
    std::getline(in, line);
    LR_CHECK(line == head, path_, ": unexpected header '", line, "'");
    while (std::getline(in, line)) {
      // A row cut short by a kill has no newline; getline still returns it, but its step
      // is > keep_upto unless the checkpoint itself is newer than the row, which cannot be.
      if (line.empty()) continue;
      if (std::strtoll(line.c_str(), nullptr, 10) <= keep_upto && in.good()) body += line + "\n";
    }
  }
  write_file_atomic(path_, body);
  f_ = std::fopen(path_.c_str(), "ab");
  if (!f_) fail(path_, ": cannot open for appending: ", std::strerror(errno));
}

CsvLog::~CsvLog() {
  if (f_) std::fclose(f_);
}

void CsvLog::row(const std::vector<double>& values) {
  std::string s;
  char buf[64];
  for (size_t i = 0; i < values.size(); ++i) {
    if (i == 0)
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(values[i]));
    else
      std::snprintf(buf, sizeof buf, ",%.9g", values[i]);
    s += buf;
  }
  s += "\n";
  if (std::fwrite(s.data(), 1, s.size(), f_) != s.size() || std::fflush(f_) != 0)
    fail(path_, ": write failed: ", std::strerror(errno));
}

std::string format_count(uint64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

Progress::Progress(int64_t total, int64_t start_step, int64_t every)
    : total_(total), start_(start_step), every_(every), tty_(::isatty(2) == 1) {}

void Progress::update(int64_t step, double loss, double skip_pct, double tokens_per_s, double lr,
                      double elapsed_s) {
  if (!tty_ && step % every_ != 0 && step != total_) return;
  const double done = double(step - start_);
  const double eta = done > 0 ? elapsed_s / done * double(total_ - step) : NAN;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "step %lld/%lld | %s, ETA %s | loss %.4f | skip %.1f%% | %s tok/s | lr %.2e",
                static_cast<long long>(step), static_cast<long long>(total_),
                format_duration(elapsed_s).c_str(), format_duration(eta).c_str(), loss, skip_pct,
                format_count(uint64_t(std::llround(tokens_per_s))).c_str(), lr);
  if (tty_) {
    std::cerr << "\r\033[K" << buf << std::flush;
    dirty_ = true;
  } else {
    std::cerr << buf << "\n";
  }
}

void Progress::message(const std::string& line) {
  if (dirty_) std::cerr << "\r\033[K";
  std::cerr << line << "\n";
  dirty_ = false;
}

void Progress::finish() {
  if (dirty_) std::cerr << "\n";
  dirty_ = false;
}

}  // namespace lr
