#include "pty.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tally::test {

namespace {

std::runtime_error sys_error(const std::string& what, int err = errno) {
  return std::runtime_error("Pty: " + what + ": " + std::strerror(err));
}

std::string slave_of(int master) {
  char name[128];
  if (::ptsname_r(master, name, sizeof name) != 0) throw sys_error("ptsname_r");
  return name;
}

}  // namespace

Pty::Pty(std::string link) : link_(std::move(link)) { open_pty(); }

Pty::~Pty() {
  try {
    unplug();
  } catch (...) {
  }
}

void Pty::open_pty() {
  const int m = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) throw sys_error("posix_openpt");
  try {
    if (::grantpt(m) != 0) throw sys_error("grantpt");
    if (::unlockpt(m) != 0) throw sys_error("unlockpt");
    const std::string slave = slave_of(m);

    // Raw from the start, so nothing written by either side is echoed or translated before the daemon sets its own
    // termios. The settings live in the tty, which lasts as long as the master is open.
    const int s = ::open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) throw sys_error("open " + slave);
    termios tio{};
    if (::tcgetattr(s, &tio) != 0) {
      const int err = errno;
      ::close(s);
      throw sys_error("tcgetattr", err);
    }
    ::cfmakeraw(&tio);
    if (::tcsetattr(s, TCSANOW, &tio) != 0) {
      const int err = errno;
      ::close(s);
      throw sys_error("tcsetattr", err);
    }
    ::close(s);

    const int flags = ::fcntl(m, F_GETFL);
    if (flags < 0 || ::fcntl(m, F_SETFL, flags | O_NONBLOCK) != 0) throw sys_error("fcntl O_NONBLOCK");

    // Replace the link atomically: a reader never sees it missing while we re-plug.
    const std::string tmp = link_ + ".tmp";
    ::unlink(tmp.c_str());
    if (::symlink(slave.c_str(), tmp.c_str()) != 0) throw sys_error("symlink " + tmp);
    if (::rename(tmp.c_str(), link_.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      throw sys_error("rename " + tmp + " -> " + link_, err);
    }
  } catch (...) {
    ::close(m);
    throw;
  }
  master_ = m;
}

std::string Pty::slave_path() const {
  if (master_ < 0) throw std::runtime_error("Pty: unplugged");
  return slave_of(master_);
}

void Pty::write(std::string_view bytes) {
  if (master_ < 0) throw std::runtime_error("Pty: write while unplugged");
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!bytes.empty()) {
    const ssize_t n = ::write(master_, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) throw sys_error("write");
    if (std::chrono::steady_clock::now() >= end)
      throw std::runtime_error("Pty: write: buffer full for 5 s (nobody reads the slave?)");
    pollfd p{master_, POLLOUT, 0};
    // With no slave open, poll reports POLLHUP at once: do not spin.
    if (::poll(&p, 1, 50) > 0 && !(p.revents & POLLOUT)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string Pty::read(std::chrono::milliseconds timeout, std::size_t min_bytes) {
  if (master_ < 0) throw std::runtime_error("Pty: read while unplugged");
  std::string out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;  // drain what is there
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: nothing yet. EIO (or 0): nobody has the slave open right now; that is not an error for a test.
    if (n < 0 && errno != EAGAIN && errno != EIO) throw sys_error("read");
    if (out.size() >= min_bytes) return out;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return out;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
    pollfd p{master_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 50)));
    if (r > 0 && !(p.revents & POLLIN)) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // POLLHUP
  }
}

bool Pty::wait_drained(std::chrono::milliseconds timeout) {
  if (master_ < 0) return false;
  const int s = ::open(slave_path().c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s < 0) throw sys_error("open slave to check its input queue");
  const auto end = std::chrono::steady_clock::now() + timeout;
  // Written bytes reach the slave's input queue a moment later (the kernel pushes them from a worker), so FIONREAD
  // can say 0 right after a write: only trust it after a pause, and twice in a row.
  bool drained = false;
  int zeros = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    int pending = 0;
    if (::ioctl(s, FIONREAD, &pending) != 0) break;
    zeros = pending == 0 ? zeros + 1 : 0;
    if (zeros >= 2) {
      drained = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= end) break;
  }
  ::close(s);
  return drained;
}

void Pty::unplug() {
  if (master_ >= 0) {
    ::close(master_);
    master_ = -1;
  }
  ::unlink(link_.c_str());
}

void Pty::plug() {
  if (master_ >= 0) return;
  open_pty();
}

}  // namespace tally::test
