#include "loop/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tally {

void sd_notify(const char* state) noexcept {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || (path[0] != '/' && path[0] != '@')) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  [[maybe_unused]] auto sent = ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
                                        reinterpret_cast<const sockaddr*>(&addr), addr_len);
  ::close(fd);
}

std::chrono::microseconds watchdog_interval() noexcept {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec || !*usec) return std::chrono::microseconds{0};
  // Set for a process that forks: the watchdog is the child's to feed only when the PID is ours.
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid && *pid && std::strtoll(pid, nullptr, 10) != ::getpid())
    return std::chrono::microseconds{0};
  char* end = nullptr;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (*end != '\0') return std::chrono::microseconds{0};
  return std::chrono::microseconds{static_cast<std::chrono::microseconds::rep>(value)};
}

}  // namespace tally
