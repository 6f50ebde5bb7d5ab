#include "pty_device.hpp"

#include <poll.h>

#include <algorithm>
#include <system_error>
#include <thread>

namespace tally::emu {

PtyDevice::Sent PtyDevice::send(std::string_view bytes) {
  if (!reader_present()) {
    pending_.clear();  // a half-sent unit is lost with the reader
    ++stats_.dropped_no_reader;
    return Sent::dropped_no_reader;
  }
  if (!flush()) {
    ++stats_.dropped_busy;
    return Sent::dropped_busy;
  }
  pending_.assign(bytes);
  ++stats_.units_written;
  return flush() ? Sent::written : Sent::queued;
}

bool PtyDevice::flush() {
  if (!pending_.empty() && !reader_present()) pending_.clear();  // the reader went away mid-unit: so does the rest
  const std::size_t n = pty_.write_some(pending_);
  stats_.bytes_written += n;
  pending_.erase(0, n);
  return pending_.empty();
}

bool PtyDevice::drain(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  if (!reader_present()) {
    pending_.clear();
    return false;
  }
  // What is queued goes first.
  while (!flush()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    pollfd p{fd(), POLLOUT, 0};
    ::poll(&p, 1, 10);
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
  try {
    return pty_.wait_drained(std::max(left, std::chrono::milliseconds(0)));
  } catch (const std::system_error&) {
    // The slave cannot be opened to ask (a reader that set TIOCEXCL, as non-root): give the reader a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return true;
  }
}

}  // namespace tally::emu
