#pragma once
// Every file we write lands atomically: bytes go to PATH.tmp.<pid>, are flushed, then
// renamed over PATH, so a crash never leaves a half-written output. A killed process leaves
// its PATH.tmp.<pid> behind; remove_stale_temps clears those.
//
// Test hook (the fault tests, docs/reliability.md): with LR_FAULT_KILL_WRITE=TEXT:N in the
// environment, the N-th AtomicFile (from 1) whose path contains TEXT SIGKILLs its process in
// its first write, once half of those bytes are flushed to the temp file.
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
  bool kill_in_write_ = false;  // LR_FAULT_KILL_WRITE picked this file
};

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);  // throws "PATH: cannot read"

// Removes DIR/NAME.tmp.PID (files, or directories publish_dir was filling) whose process
// PID is gone: what a killed writer left. A live writer's temps are kept.
void remove_stale_temps(const std::string& dir);

}  // namespace lr
