#include "core/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/error.h"

extern char** environ;  // POSIX: the environment posix_spawn hands on

namespace lr {

namespace {

// Both ends close on exec, so a child started meanwhile by another thread inherits neither.
struct Pipe {
  int fd[2] = {-1, -1};
  void open() {
    LR_CHECK(pipe2(fd, O_CLOEXEC) == 0, "cannot create a pipe: ", std::strerror(errno));
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
};

// Reads both captured pipes until each reaches end of file; polling both keeps a child that
// fills one pipe from blocking while we wait on the other.
void drain(Pipe* pipes, std::string* dest[2]) {
  for (;;) {
    std::array<pollfd, 2> fds{};
    int n = 0, which[2];
    for (int i = 0; i < 2; ++i)
      if (pipes[i].fd[0] >= 0) fds[size_t(n)] = {pipes[i].fd[0], POLLIN, 0}, which[n++] = i;
    if (n == 0) return;
    if (poll(fds.data(), nfds_t(n), -1) < 0) {
      if (errno == EINTR) continue;
      // Give up on the output rather than leave the child unwaited: it sees a closed pipe.
      for (int k = 0; k < n; ++k) pipes[which[k]].close_end(0);
      return;
    }
    for (int k = 0; k < n; ++k) {
      if (!fds[size_t(k)].revents) continue;
      const int i = which[k];
      char buf[65536];
      const ssize_t got = ::read(pipes[i].fd[0], buf, sizeof buf);
      if (got > 0)
        dest[i]->append(buf, size_t(got));
      else if (got == 0 || errno != EINTR)
        pipes[i].close_end(0);
    }
  }
}

}  // namespace

std::string ChildResult::status() const {
  return signal ? "signal " + std::to_string(signal) : "exit " + std::to_string(exit_code);
}

ChildResult run_child(const std::vector<std::string>& args, const ChildOptions& opts) {
  LR_CHECK(!args.empty(), "run_child: empty argv");
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  Pipe pipes[2];
  const ChildStream modes[2] = {opts.out, opts.err};
  for (int i = 0; i < 2; ++i)
    if (modes[i] == ChildStream::Capture) pipes[i].open();
  // Opened here rather than by the child, so a missing file is named as such.
  int in_fd = -1;
  if (!opts.stdin_path.empty()) {
    in_fd = ::open(opts.stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    LR_CHECK(in_fd >= 0, opts.stdin_path, ": cannot read: ", std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_fd >= 0) posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
  for (int i = 0; i < 2; ++i) {
    const int target = i == 0 ? STDOUT_FILENO : STDERR_FILENO;
    if (modes[i] == ChildStream::Capture)
      posix_spawn_file_actions_adddup2(&fa, pipes[i].fd[1], target);
    else if (modes[i] == ChildStream::Discard)
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", O_WRONLY, 0);
  }
  // Our environment with opts.env set over it (a variable named there replaces ours).
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    bool replaced = false;
    for (const auto& [k, val] : opts.env)
      replaced =
          replaced || (v.size() > k.size() && v.substr(0, k.size()) == k && v[k.size()] == '=');
    if (!replaced) vars.emplace_back(v);
  }
  for (const auto& [k, val] : opts.env) vars.push_back(k + "=" + val);
  std::vector<char*> envp;
  for (std::string& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (in_fd >= 0) ::close(in_fd);
  LR_CHECK(err == 0, "cannot start ", args[0], ": ", std::strerror(err));
  // Our copies of the write ends closed, a pipe reads end of file once the child is gone.
  for (Pipe& p : pipes) p.close_end(1);

  ChildResult r;
  std::string* dest[2] = {&r.out, &r.err};
  drain(pipes, dest);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    LR_CHECK(errno == EINTR, "waiting for ", args[0], " failed: ", std::strerror(errno));
  if (WIFSIGNALED(status))
    r.signal = WTERMSIG(status);
  else
    r.exit_code = WEXITSTATUS(status);
  return r;
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t i = 0;
  while (i <= dirs.size()) {
    size_t j = dirs.find(':', i);
    if (j == std::string::npos) j = dirs.size();
    const std::string dir = dirs.substr(i, j - i);
    if (!dir.empty()) {
      const std::string p = dir + "/" + name;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    i = j + 1;
  }
  return "";
}

std::string self_executable() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::read_symlink("/proc/self/exe", ec);
  LR_CHECK(!ec, "cannot find this executable (/proc/self/exe): ", ec.message());
  return p.string();
}

}  // namespace lr
