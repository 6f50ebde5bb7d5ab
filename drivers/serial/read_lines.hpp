#pragma once
// Drains a non-blocking serial port into lines: what every line-oriented serial driver does on each wake-up.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "device_error.hpp"
#include "input.hpp"
#include "serial/line_splitter.hpp"

namespace tally {

// Reads what the port has, up to 16 KiB per call (never blocks): a port that never pauses (a flood, a stuck
// stream) must not keep one event-loop iteration busy and its records in memory. The fd is level-triggered, so the
// loop commits, publishes and comes back for the rest. Calls on_line(line, ts) for every complete line, ts being
// when its last bytes were read, and on_overlong() for every line the splitter discarded as too long. Throws
// device_error on hang-up or a read error.
template <class OnLine, class OnOverlong>
void read_lines(int fd, const std::string& port, LineSplitter& splitter, OnLine&& on_line, OnOverlong&& on_overlong) {
  char buf[1024];
  std::vector<std::string> lines;
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) throw_from_errno("read " + port);
    // A tty read of 0 bytes on a non-blocking fd (VMIN=1) means hang-up: the adapter was pulled or the pty closed.
    if (n == 0) throw device_error(ENODEV, "read " + port + ": hang-up");
    const auto ts = std::chrono::system_clock::now();
    const auto overlong_before = splitter.overlong();
    lines.clear();
    splitter.feed({buf, static_cast<std::size_t>(n)}, lines);
    for (auto i = overlong_before; i < splitter.overlong(); ++i) on_overlong();
    for (const auto& line : lines) on_line(std::string_view(line), ts);
  }
}

}  // namespace tally
