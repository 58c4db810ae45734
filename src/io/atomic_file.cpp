#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace lr {

namespace {

// LR_FAULT_KILL_WRITE=TEXT:N: true for the N-th path containing TEXT this process opens.
bool fault_kill_picks(const std::string& path) {
  const char* v = std::getenv("LR_FAULT_KILL_WRITE");
  if (!v || !*v) return false;
  const std::string spec = v;
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return false;
  if (path.find(spec.substr(0, colon)) == std::string::npos) return false;
  static std::atomic<long> seen{0};  // test hook only: the count of matching files so far
  return ++seen == std::atol(spec.c_str() + colon + 1);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // The pid suffix keeps two processes writing the same output from sharing a temp file.
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) fail(path_, ": cannot create ", tmp_, ": ", std::strerror(errno));
  kill_in_write_ = fault_kill_picks(path_);
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  LR_CHECK(f_ && !committed_, path_, ": write after commit");
  if (n == 0) return;
  if (kill_in_write_) {  // the fault tests' kill: a torn temp file, then SIGKILL
    (void)std::fwrite(data, 1, n / 2, f_);
    (void)std::fflush(f_);
    ::raise(SIGKILL);
  }
  if (std::fwrite(data, 1, n, f_) != n) fail(path_, ": write failed: ", std::strerror(errno));
}

void AtomicFile::commit() {
  LR_CHECK(f_ && !committed_, path_, ": commit called twice");
  // Data must be on disk before the rename publishes it, or a crash could expose a
  // renamed-but-empty file.
  bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
  const int err = errno;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok) fail(path_, ": cannot flush ", tmp_, ": ", std::strerror(err));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail(path_, ": cannot rename ", tmp_, " over it: ", std::strerror(errno));
  committed_ = true;
  // Best effort: persist the directory entry too.
  const size_t slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

void remove_stale_temps(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(".tmp.");
    if (at == std::string::npos) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    // kill(pid, 0) fails with ESRCH once the writer is gone (EPERM: alive, not ours).
    if (::kill(pid_t(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
    fs::remove_all(e.path(), ec);
  }
}

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, ": cannot read: ", std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  // fopen succeeds on a directory; the read error shows up here (EISDIR).
  const bool bad = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (bad) fail(path, ": cannot read: ", std::strerror(err));
  return out;
}

}  // namespace lr
