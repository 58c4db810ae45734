#include "serve/peer_socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <filesystem>

namespace lr::serve {

namespace {

// Numeric address and port of a socket's own (peer = false) or remote end, as cpp-httplib
// formats them (getnameinfo with NI_NUMERICHOST).
bool address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t n = sizeof(a);
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&a), &n)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  if (rc != 0) return false;
  if (a.ss_family == AF_INET)
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
  else if (a.ss_family == AF_INET6)
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port);
  else
    return false;
  std::array<char, NI_MAXHOST> host{};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), n, host.data(), socklen_t(host.size()),
                  nullptr, 0, NI_NUMERICHOST) != 0)
    return false;
  ip = host.data();
  return true;
}

}  // namespace

PeerSocket::PeerSocket(const std::string& local_addr, int local_port, const std::string& peer_addr,
                       int peer_port) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(e.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    std::string ip;
    int port = -1;
    if (!address(fd, false, ip, port) || port != local_port || ip != local_addr) continue;
    if (!address(fd, true, ip, port) || port != peer_port || ip != peer_addr) continue;
    fd_ = fd;
    return;
  }
}

bool PeerSocket::closed() const {
  if (fd_ < 0) return false;
  char c;
  const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // data waiting: alive
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  return true;  // 0: FIN; error: reset
}

}  // namespace lr::serve
