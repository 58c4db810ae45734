#pragma once
// The fault tests' child process: the layerroute binary started with fork + execve so the
// test can SIGKILL it at any moment, cap the size of any file it writes (RLIMIT_FSIZE, with
// SIGXFSZ ignored so a write over the cap fails with EFBIG instead of killing it), or run it
// as an unprivileged user (under root, permission bits are otherwise ignored).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_util.h"

extern char** environ;

namespace lr::faulttest {

struct ChildSpec {
  std::vector<std::string> args;  // layerroute's arguments
  std::vector<std::string> env;   // "NAME=value", added to this process's environment
  long long fsize_limit = -1;     // RLIMIT_FSIZE in bytes; -1: unlimited
  bool as_nobody = false;         // when root, run as uid/gid 65534 (nobody)
};

struct ChildEnd {
  int exit_code = -1;  // -1 when a signal ended it
  int signal = 0;
  std::string out, err;
  bool killed() const { return signal == SIGKILL; }
};

constexpr uid_t kNobody = 65534;

class Child {
 public:
  // Starts the child; its stdout and stderr go to files next to `log_stem`.
  Child(const ChildSpec& spec, const std::string& log_stem)
      : out_path_(log_stem + ".out"), err_path_(log_stem + ".err") {
    std::vector<std::string> argv_s{LR_CLI_PATH};
    argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), spec.env.begin(), spec.env.end());
    // Everything the child uses is built before fork: after it, only async-signal-safe calls.
    std::vector<char*> argv, envp;
    for (std::string& s : argv_s) argv.push_back(s.data());
    for (std::string& s : env_s) envp.push_back(s.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const bool drop = spec.as_nobody && ::geteuid() == 0;
    rlimit lim{rlim_t(spec.fsize_limit), rlim_t(spec.fsize_limit)};
    const int out_fd = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
      if (spec.fsize_limit >= 0) {
        ::signal(SIGXFSZ, SIG_IGN);  // ignored dispositions survive execve
        if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(126);
      }
      if (drop &&
          (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0))
        ::_exit(126);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(in_fd);
    if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // True once the child has ended (reaped here).
  bool done() {
    if (reaped_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) != pid_) return false;
    record(st);
    return true;
  }
  void kill() {
    if (!reaped_) ::kill(pid_, SIGKILL);
  }
  // Waits for the end (reaping it: a zombie's pid still counts as alive), with its output.
  ChildEnd wait() {
    if (!reaped_) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      record(st);
    }
    end_.out = test::slurp(out_path_);
    end_.err = test::slurp(err_path_);
    return end_;
  }

 private:
  void record(int st) {
    reaped_ = true;
    if (WIFSIGNALED(st))
      end_.signal = WTERMSIG(st);
    else
      end_.exit_code = WEXITSTATUS(st);
  }
  std::string out_path_, err_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  ChildEnd end_;
};

// Runs the child to its end.
inline ChildEnd run_child(const ChildSpec& spec, const std::string& log_stem) {
  Child c(spec, log_stem);
  return c.wait();
}

// The lines of `err` that carry the CLI's error ("error: ..."), for the one-line check.
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < err.size()) {
    size_t nl = err.find('\n', at);
    if (nl == std::string::npos) nl = err.size();
    const std::string line = err.substr(at, nl - at);
    if (line.rfind("error: ", 0) == 0) out.push_back(line);
    at = nl + 1;
  }
  return out;
}

// The CLI's refusal: exit 1 and one "error: " line, the last thing on stderr, holding each
// of `parts` (the file at fault, the reason).
inline void expect_one_line_error(const ChildEnd& e, const std::vector<std::string>& parts) {
  EXPECT_EQ(e.exit_code, 1) << e.err;
  const std::vector<std::string> lines = error_lines(e.err);
  ASSERT_EQ(lines.size(), 1u) << e.err;
  for (const std::string& p : parts) EXPECT_NE(lines[0].find(p), std::string::npos) << lines[0];
  const std::string tail = lines[0] + "\n";
  EXPECT_TRUE(e.err.size() >= tail.size() && e.err.substr(e.err.size() - tail.size()) == tail)
      << "the error is not the last line: " << e.err;
}

}  // namespace lr::faulttest
