#pragma once
// The run's CSV logs (appended and flushed row by row, so a killed run keeps its history)
// and the live progress line on stderr.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lr {

class CsvLog {
 public:
  // Starts `path` with `header`, or, when resuming from optimizer step `keep_upto` >= 0,
  // keeps the existing rows whose step (first column) is <= keep_upto: rows a killed run
  // wrote after its last checkpoint are written again by the resumed run.
  CsvLog(std::string path, const std::vector<std::string>& header, int64_t keep_upto = -1);
  ~CsvLog();
  CsvLog(const CsvLog&) = delete;
  CsvLog& operator=(const CsvLog&) = delete;
  void row(const std::vector<double>& values);  // first value: the step, printed as integer

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

// "step 120/750 | 2m03s, ETA 10m12s | loss 2.3451 | skip 12.5% | 3,456 tok/s | lr 1.98e-04":
// rewritten in place (\r) when stderr is a terminal, else one line every `every` steps.
class Progress {
 public:
  Progress(int64_t total, int64_t start_step, int64_t every);
  void update(int64_t step, double loss, double skip_pct, double tokens_per_s, double lr,
              double elapsed_s);
  void message(const std::string& line);  // a line of its own, keeping the progress line
  void finish();

 private:
  int64_t total_, start_, every_;
  bool tty_;
  bool dirty_ = false;
};

std::string format_count(uint64_t n);   // 1081344 -> "1,081,344"
std::string format_duration(double s);  // "1h02m", "3m12s", "42s"

}  // namespace lr
