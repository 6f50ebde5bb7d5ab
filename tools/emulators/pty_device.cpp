#include "pty_device.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace tally::emu {

namespace {

std::runtime_error sys_error(const std::string& what, int err = errno) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

}  // namespace

PtyDevice::PtyDevice(std::string link) : link_(std::move(link)) {
  struct stat st {};
  if (::lstat(link_.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    throw std::runtime_error(link_ + " exists and is not a symlink: refusing to replace it");

  master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master_ < 0) throw sys_error("posix_openpt");
  try {
    if (::grantpt(master_) != 0) throw sys_error("grantpt");
    if (::unlockpt(master_) != 0) throw sys_error("unlockpt");
    char name[128];
    if (::ptsname_r(master_, name, sizeof name) != 0) throw sys_error("ptsname_r");
    slave_ = name;

    // Raw until the reader sets its own termios: no echo back to us, no CR/LF translation. The setting lives in the
    // tty, which lasts as long as the master is open.
    const int s = ::open(slave_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) throw sys_error("open " + slave_);
    termios tio{};
    const bool ok = ::tcgetattr(s, &tio) == 0 && (::cfmakeraw(&tio), ::tcsetattr(s, TCSANOW, &tio) == 0);
    const int err = errno;
    ::close(s);
    if (!ok) throw sys_error("raw termios on " + slave_, err);

    const int flags = ::fcntl(master_, F_GETFL);
    if (flags < 0 || ::fcntl(master_, F_SETFL, flags | O_NONBLOCK) != 0) throw sys_error("fcntl O_NONBLOCK");

    const std::string tmp = link_ + ".tmp";
    ::unlink(tmp.c_str());
    if (::symlink(slave_.c_str(), tmp.c_str()) != 0) throw sys_error("symlink " + tmp);
    if (::rename(tmp.c_str(), link_.c_str()) != 0) {
      const int e = errno;
      ::unlink(tmp.c_str());
      throw sys_error("rename " + tmp + " -> " + link_, e);
    }
  } catch (...) {
    ::close(master_);
    throw;
  }
}

PtyDevice::~PtyDevice() {
  if (master_ >= 0) ::close(master_);
  char target[256];
  const ssize_t n = ::readlink(link_.c_str(), target, sizeof target - 1);
  if (n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == slave_) ::unlink(link_.c_str());
}

bool PtyDevice::reader_present() const {
  pollfd p{master_, 0, 0};
  return ::poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

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
  while (!pending_.empty()) {
    const ssize_t n = ::write(master_, pending_.data(), pending_.size());
    if (n > 0) {
      stats_.bytes_written += static_cast<std::uint64_t>(n);
      pending_.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EIO)) return false;
    throw sys_error("write to pty master");
  }
  return true;
}

std::string PtyDevice::receive() {
  std::string out;
  char buf[1024];
  for (;;) {
    const ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return out;  // EAGAIN: nothing more; EIO / 0: nobody has the slave open
  }
}

bool PtyDevice::drain(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  if (!reader_present()) {
    pending_.clear();
    return false;
  }
  // Ask the slave how much input its reader has not consumed yet (TIOCOUTQ on a pty master does not tell). Opening
  // it can fail (a reader that set TIOCEXCL, as non-root): then only flush and give the reader a moment.
  const int s = ::open(slave_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  // What the master writes reaches the slave's input queue a moment later (the kernel pushes it from a worker), so
  // FIONREAD can say 0 right after a write: only trust it after a pause, and twice in a row.
  bool done = false;
  int zeros = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!flush()) {
      zeros = 0;
      continue;
    }
    int unread = 0;
    if (s < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      done = true;
      break;
    }
    if (::ioctl(s, FIONREAD, &unread) != 0) {
      done = true;
      break;
    }
    zeros = unread == 0 ? zeros + 1 : 0;
    if (zeros >= 2) {
      done = true;
      break;
    }
  }
  if (s >= 0) ::close(s);
  return done;
}

}  // namespace tally::emu
