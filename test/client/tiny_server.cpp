#include "client/tiny_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace outpost::test {

namespace {

int listen_on(uint16_t port, uint16_t& bound) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    close(fd);
    throw std::runtime_error(std::string("bind/listen failed: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  bound = ntohs(addr.sin_port);
  return fd;
}

// Waits up to 50 ms for `fd` to be readable.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 50) > 0;
}

}  // namespace

TinyServer::TinyServer(Handler handler, uint16_t port) : handler_(std::move(handler)) {
  listen_fd_ = listen_on(port, port_);
  thread_ = std::thread([this] { serve(); });
}

TinyServer::~TinyServer() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
}

std::string TinyServer::response(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

void TinyServer::serve() {
  while (!stop_) {
    if (!readable(listen_fd_)) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections;
    serve_connection(fd);
    close(fd);
  }
}

void TinyServer::serve_connection(int fd) {
  std::string buffer;
  while (!stop_) {
    // Read one request: the head, then Content-Length bytes of body.
    size_t head_end = std::string::npos;
    size_t need = 0;
    for (;;) {
      if (head_end == std::string::npos) {
        head_end = buffer.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          head_end += 4;
          const size_t at = buffer.find("Content-Length: ");
          if (at != std::string::npos && at < head_end) {
            need = std::stoul(buffer.substr(at + 16));
          }
        }
      }
      if (head_end != std::string::npos && buffer.size() >= head_end + need) break;
      if (stop_) return;
      if (!readable(fd)) continue;
      char chunk[65536];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return;  // the client closed
      buffer.append(chunk, static_cast<size_t>(n));
    }
    const std::string request = buffer.substr(0, head_end + need);
    buffer.erase(0, head_end + need);
    ++requests;
    const Reply reply = handler_(request);
    if (reply.silent) {
      while (!stop_) {
        if (readable(fd)) {
          char chunk[4096];
          if (recv(fd, chunk, sizeof chunk, 0) <= 0) return;
        }
      }
      return;
    }
    size_t sent = 0;
    while (sent < reply.raw.size()) {
      const ssize_t n = send(fd, reply.raw.data() + sent, reply.raw.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
    if (reply.close) return;
  }
}

uint16_t free_port() {
  uint16_t port = 0;
  const int fd = listen_on(0, port);
  close(fd);
  return port;
}

}  // namespace outpost::test
