#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace lr {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  // The pid suffix keeps two processes writing the same output from sharing a temp file.
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) fail(path_, ": cannot create ", tmp_, ": ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  LR_CHECK(f_ && !committed_, path_, ": write after commit");
  if (n == 0) return;
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
