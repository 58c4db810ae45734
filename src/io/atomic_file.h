#pragma once
// Every file we write lands atomically: bytes go to PATH.tmp.<pid>, are flushed, then
// renamed over PATH, so a crash never leaves a half-written output.
#include <cstdio>
#include <string>
#include <string_view>

namespace lr {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // opens the temp file; throws lr::Error
  ~AtomicFile();                          // removes the temp file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);  // throws on short write
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();  // fflush + fsync + rename; throws on failure

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);  // throws "PATH: cannot read"

}  // namespace lr
