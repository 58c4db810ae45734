#pragma once
// The client connection of a request being handled, to notice a client that went away
// while a non-streaming reply is computed. cpp-httplib 0.11 hands a handler no socket and
// has no "connection closed" query (later versions add Request::is_connection_closed); a
// streaming handler notices at its next failed write, a non-streaming one would compute
// the whole reply for nobody. The connection is found by its addresses, which the request
// carries: the one socket of this process with that local and peer address. It stays open
// while the handler runs, since the thread serving it is the one running the handler.
#include <string>

namespace lr::serve {

class PeerSocket {
 public:
  // The socket with these local and peer addresses (numeric, as cpp-httplib writes them).
  // None found (no /proc, or the connection is already gone): closed() is always false,
  // and the reply is computed to its end as without this check.
  PeerSocket(const std::string& local_addr, int local_port, const std::string& peer_addr,
             int peer_port);
  bool found() const { return fd_ >= 0; }
  // True once the peer has closed or reset the connection. Reads
  // nothing: it peeks, so a pipelined next request stays in the socket. A client that
  // half-closes its sending side while it waits for the reply counts as gone.
  bool closed() const;

 private:
  int fd_ = -1;
};

}  // namespace lr::serve
