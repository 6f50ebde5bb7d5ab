#include "rig/pty.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace tally::rig {

namespace {

std::system_error sys_error(const std::string& what, int err = errno) {
  return std::system_error(err, std::generic_category(), "Pty: " + what);
}

// Raw, so nothing written by either side is echoed or translated before the reader sets its own termios.
void make_raw(const std::string& slave) {
  const int s = ::open(slave.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) throw sys_error("open " + slave);
  termios tio{};
  const bool ok = ::tcgetattr(s, &tio) == 0 && (::cfmakeraw(&tio), ::tcsetattr(s, TCSANOW, &tio) == 0);
  const int err = errno;
  ::close(s);
  if (!ok) throw sys_error("raw termios on " + slave, err);
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
  struct stat st {};
  if (::lstat(link_.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    throw std::runtime_error("Pty: " + link_ + " exists and is not a symlink: refusing to replace it");
  const int m = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) throw sys_error("posix_openpt");
  try {
    if (::grantpt(m) != 0) throw sys_error("grantpt");
    if (::unlockpt(m) != 0) throw sys_error("unlockpt");
    char name[128];
    if (::ptsname_r(m, name, sizeof name) != 0) throw sys_error("ptsname_r");
    make_raw(name);

    const int flags = ::fcntl(m, F_GETFL);
    if (flags < 0 || ::fcntl(m, F_SETFL, flags | O_NONBLOCK) != 0) throw sys_error("fcntl O_NONBLOCK");

    const std::string tmp = link_ + ".tmp";
    ::unlink(tmp.c_str());
    if (::symlink(name, tmp.c_str()) != 0) throw sys_error("symlink " + tmp);
    if (::rename(tmp.c_str(), link_.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      throw sys_error("rename " + tmp + " -> " + link_, err);
    }
    slave_ = name;
  } catch (...) {
    ::close(m);
    throw;
  }
  master_ = m;
}

std::string Pty::slave_path() const {
  if (master_ < 0) throw std::runtime_error("Pty: unplugged");
  return slave_;
}

void Pty::unplug() {
  if (master_ < 0) return;
  ::close(master_);
  master_ = -1;
  // Another pty (a plug() elsewhere, another emulator) may have taken the link meanwhile: leave that one alone.
  char target[256];
  const ssize_t n = ::readlink(link_.c_str(), target, sizeof target - 1);
  if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == slave_) ::unlink(link_.c_str());
}

void Pty::plug() {
  if (master_ < 0) open_pty();
}

bool Pty::reader_present() const {
  if (master_ < 0) return false;
  pollfd p{master_, 0, 0};
  return ::poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

std::size_t Pty::write_some(std::string_view bytes) {
  if (master_ < 0) throw std::runtime_error("Pty: write while unplugged");
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(master_, bytes.data() + written, bytes.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EIO) throw sys_error("write");
    break;  // EAGAIN: the buffer is full; EIO: nobody has the slave open
  }
  return written;
}

std::string Pty::read_available() {
  if (master_ < 0) throw std::runtime_error("Pty: read while unplugged");
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN: nothing more. EIO (or 0): nobody has the slave open right now; not an error for the holder.
    if (n < 0 && errno != EAGAIN && errno != EIO) throw sys_error("read");
    return out;
  }
}

void Pty::write(std::string_view bytes) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    bytes.remove_prefix(write_some(bytes));
    if (bytes.empty()) return;
    if (std::chrono::steady_clock::now() >= end)
      throw std::runtime_error("Pty: write: buffer full for 5 s (nobody reads the slave?)");
    pollfd p{master_, POLLOUT, 0};
    // With no slave open, poll reports POLLHUP at once: do not spin.
    if (::poll(&p, 1, 50) > 0 && !(p.revents & POLLOUT)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string Pty::read(std::chrono::milliseconds timeout, std::size_t min_bytes) {
  std::string out;
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    out += read_available();
    if (out.size() >= min_bytes) return out;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return out;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count();
    pollfd p{master_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left + 1, 50)));
    if (r > 0 && !(p.revents & POLLIN)) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // POLLHUP
  }
}

std::optional<int> Pty::unread() const {
  if (master_ < 0) return std::nullopt;
  const int s = ::open(slave_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s < 0) return std::nullopt;
  int pending = 0;
  const bool ok = ::ioctl(s, FIONREAD, &pending) == 0;
  ::close(s);
  if (!ok) return std::nullopt;
  return pending;
}

bool Pty::wait_drained(std::chrono::milliseconds timeout) {
  if (master_ < 0) return false;
  const int s = ::open(slave_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s < 0) throw sys_error("open the slave to check its input queue");
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

}  // namespace tally::rig
