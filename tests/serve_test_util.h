#pragma once
// Helpers for tests that run `layerroute serve` as a process: start it on a free loopback
// port, wait for it to be ready, stop it; and plain HTTP/1.1 over a raw socket, for what
// a client library hides (closing a connection mid-request).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"

extern char** environ;

namespace lr::test {

// A running `layerroute serve`, its stderr in a file; stopped (SIGTERM, then SIGKILL) at
// the end of the scope if still running.
struct ServerProcess {
  pid_t pid = -1;
  std::string log;
  int port = -1;

  ServerProcess(const std::vector<std::string>& args, const std::string& log_path) : log(log_path) {
    std::vector<std::string> argv = {LR_CLI_PATH, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  // Waits (bounded) for the "ready" line; reads the port from the "listening" line.
  bool wait_ready(std::string& why) {
    const std::regex listen(R"(listening on http://[0-9.]+:(\d+))");
    for (int i = 0; i < 600; ++i) {  // 60 s: the model loads while the machine is shared
      const std::string text = slurp(log);
      std::smatch m;
      if (port < 0 && std::regex_search(text, m, listen)) port = std::stoi(m[1]);
      if (text.find("serve: ready") != std::string::npos && port > 0) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        why = "server exited: " + text;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    why = "server not ready: " + slurp(log);
    return false;
  }
  // Exit status after the process ends by itself within timeout_s (-1: it did not).
  int wait_exit(double timeout_s) {
    for (int i = 0; i < int(timeout_s * 20); ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  ~ServerProcess() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    if (wait_exit(20) < 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// "a b c" -> {"a", "b", "c"} (the paths here have no spaces).
inline std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::istringstream in(s);
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// A TCP connection to 127.0.0.1:port; -1 on failure.
inline int connect_loopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    const ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

// A request (with Connection: close) as raw HTTP/1.1 text.
inline std::string http_text(const std::string& method, const std::string& path,
                             const std::string& body = "") {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty())
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

// One request on a fresh connection; the whole response as text ("" on failure).
inline std::string http_once(int port, const std::string& method, const std::string& path,
                             const std::string& body = "") {
  const int fd = connect_loopback(port);
  if (fd < 0) return "";
  std::string out;
  if (send_all(fd, http_text(method, path, body))) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, size_t(n));
  }
  close(fd);
  return out;
}

// The value of a Prometheus sample line "NAME VALUE" (-1 when absent).
inline double metric(const std::string& text, const std::string& name) {
  const size_t p = text.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::stod(text.substr(p + name.size() + 2));
}

}  // namespace lr::test
