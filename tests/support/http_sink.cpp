#include "support/http_sink.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "support/wait.hpp"

namespace tally::test {

namespace {

int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") + std::strerror(errno));
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// Reads one request: the head up to the blank line, then Content-Length bytes of body.
bool read_request(int fd, HttpRequestSeen& req) {
  std::string data;
  char buf[4096];
  std::size_t head_end = std::string::npos;
  std::size_t length = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (head_end != std::string::npos && data.size() >= head_end + 4 + length) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
    if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::size_t line_start = 0;
      bool first = true;
      while (line_start < head_end) {
        const std::size_t eol = data.find("\r\n", line_start);
        const std::string line = data.substr(line_start, eol - line_start);
        if (first) {
          const auto sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
          req.method = line.substr(0, sp1);
          req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
          first = false;
        } else {
          req.headers.push_back(line);
          if (strncasecmp(line.c_str(), "content-length:", 15) == 0) length = std::stoul(line.substr(15));
        }
        line_start = eol + 2;
      }
    }
  }
  if (head_end == std::string::npos) return false;
  req.body = data.substr(head_end + 4, length);
  return req.body.size() == length;
}

}  // namespace

HttpSink::HttpSink() {
  listener_ = listen_on(0);
  port_ = port_of(listener_);
  thread_ = std::thread([this, fd = listener_] { serve(fd); });
}

HttpSink::~HttpSink() { stop(); }

void HttpSink::stop() {
  if (listener_ < 0) return;
  stopping_ = true;
  thread_.join();
  ::close(listener_);
  listener_ = -1;
  stopping_ = false;
}

void HttpSink::start() {
  if (listener_ >= 0) return;
  listener_ = listen_on(port_);
  thread_ = std::thread([this, fd = listener_] { serve(fd); });
}

void HttpSink::serve(int listener) {
  while (!stopping_) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    HttpRequestSeen req;
    if (read_request(fd, req)) {
      const int status = status_;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(req);
      }
      const std::string answer = "HTTP/1.1 " + std::to_string(status) + (status < 300 ? " OK" : " Error") +
                                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)!::write(fd, answer.data(), answer.size());
    }
    ::close(fd);
  }
}

std::vector<HttpRequestSeen> HttpSink::requests() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

bool HttpSink::wait_for(const std::function<bool(const std::vector<HttpRequestSeen>&)>& ready,
                        std::chrono::milliseconds deadline) const {
  return wait_until([&] { return ready(requests()); }, deadline);
}

}  // namespace tally::test
