#include "event_loop.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace tally::emu {

namespace {

std::runtime_error sys_error(const std::string& what, int err = errno) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

EventLoop::EventLoop(std::chrono::nanoseconds interval) {
  if (interval <= std::chrono::nanoseconds::zero()) throw std::invalid_argument("EventLoop: interval must be > 0");
  const sigset_t set = stop_signals();
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw sys_error("sigprocmask");
  signals_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signals_ < 0) throw sys_error("signalfd");

  timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer_ < 0) {
    const int err = errno;
    ::close(signals_);
    throw sys_error("timerfd_create", err);
  }
  // The first tick right away, then every interval on an absolute schedule.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  itimerspec spec{};
  spec.it_value = now;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(interval);
  spec.it_interval.tv_sec = static_cast<time_t>(secs.count());
  spec.it_interval.tv_nsec = static_cast<long>((interval - secs).count());
  if (::timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    const int err = errno;
    ::close(timer_);
    ::close(signals_);
    throw sys_error("timerfd_settime", err);
  }
}

EventLoop::~EventLoop() {
  ::close(timer_);
  ::close(signals_);
  // Signals stay blocked: the process is about to exit, and a pending SIGTERM must not kill it mid-cleanup.
}

EventLoop::Wake EventLoop::wait(std::span<pollfd> extra) {
  std::vector<pollfd> fds;
  fds.reserve(2 + extra.size());
  fds.push_back({timer_, POLLIN, 0});
  fds.push_back({signals_, POLLIN, 0});
  for (const auto& e : extra) fds.push_back({e.fd, e.events, 0});

  Wake wake;
  for (;;) {
    const int r = ::poll(fds.data(), fds.size(), -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("poll");
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        wake.signal = static_cast<int>(info.ssi_signo);
    }
    if (fds[0].revents & POLLIN) {
      std::uint64_t expirations = 0;
      if (::read(timer_, &expirations, sizeof expirations) == static_cast<ssize_t>(sizeof expirations))
        wake.ticks = expirations;
    }
    bool any_extra = false;
    for (std::size_t i = 0; i < extra.size(); ++i) {
      extra[i].revents = fds[2 + i].revents;
      any_extra = any_extra || extra[i].revents != 0;
    }
    if (wake.ticks || wake.signal || any_extra) return wake;
  }
}

}  // namespace tally::emu
