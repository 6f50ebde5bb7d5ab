#include "loop/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include <csignal>
#include <system_error>

#include <spdlog/spdlog.h>

namespace tally {

namespace {
[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

itimerspec to_itimerspec(std::chrono::milliseconds first, std::chrono::milliseconds interval) {
  auto ts = [](std::chrono::milliseconds d) {
    return timespec{static_cast<time_t>(d.count() / 1000), static_cast<long>(d.count() % 1000) * 1'000'000};
  };
  itimerspec spec{ts(interval), ts(first)};
  if (first.count() <= 0) spec.it_value.tv_nsec = 1;  // zero would disarm: fire "now" instead
  return spec;
}
}  // namespace

// ---- Timer

Timer::Timer(EventLoop& loop, std::function<void()> on_expiry)
    : loop_(&loop),
      fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      state_(std::make_unique<State>(State{std::move(on_expiry)})) {
  if (!fd_) fail("timerfd_create");
  State* state = state_.get();
  const int fd = fd_.get();
  loop.watch(fd, [fd, state](std::uint32_t) {
    std::uint64_t expirations = 0;
    if (::read(fd, &expirations, sizeof expirations) != sizeof expirations) return;  // raced with a re-arm
    if (!state->periodic) state->armed = false;
    state->on_expiry();
  });
}

Timer::Timer(Timer&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)), fd_(std::move(other.fd_)), state_(std::move(other.state_)) {}

Timer& Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    release();
    loop_ = std::exchange(other.loop_, nullptr);
    fd_ = std::move(other.fd_);
    state_ = std::move(other.state_);
  }
  return *this;
}

Timer::~Timer() { release(); }

void Timer::release() noexcept {
  if (loop_ && fd_) loop_->unwatch(fd_.get());
  fd_.reset();
  loop_ = nullptr;
}

void Timer::arm(std::chrono::milliseconds first, std::chrono::milliseconds interval) {
  const auto spec = to_itimerspec(first, interval);
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) != 0) fail("timerfd_settime");
  state_->armed = true;
  state_->periodic = interval.count() > 0;
}

void Timer::disarm() {
  if (!fd_) return;
  const itimerspec zero{};
  ::timerfd_settime(fd_.get(), 0, &zero, nullptr);
  state_->armed = false;
}

// ---- EventLoop

EventLoop::EventLoop()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_) fail("epoll_create1");
  if (!wake_fd_) fail("eventfd");
  watch(wake_fd_.get(), [this](std::uint32_t) {
    std::uint64_t n;
    while (::read(wake_fd_.get(), &n, sizeof n) == sizeof n) {
    }
    drain_posted();
  });
}

EventLoop::~EventLoop() = default;

void EventLoop::watch(int fd, Handler handler) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) fail("epoll_ctl add");
  handlers_[fd] = std::make_shared<Handler>(std::move(handler));
}

void EventLoop::unwatch(int fd) noexcept {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

void EventLoop::on_signals(std::initializer_list<int> signals, std::function<void(int)> handler) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  signal_fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) fail("signalfd");
  signal_handler_ = std::move(handler);
  watch(signal_fd_.get(), [this](std::uint32_t) {
    signalfd_siginfo info;
    while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) signal_handler_(static_cast<int>(info.ssi_signo));
  });
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
    // Work already waiting means the eventfd was written and not yet drained (the loop reads it before it takes
    // the queue): one write per batch, not one per PUBACK.
    if (posted_.size() > 1) return;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof one);  // EAGAIN only when already signalled
}

void EventLoop::drain_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(posted_mutex_);
    work.swap(posted_);
  }
  for (auto& fn : work) guarded("posted work", fn);
}

void EventLoop::at_iteration_end(std::function<void()> hook) { end_hooks_.push_back(std::move(hook)); }

// The last line of defence: errors are handled where they happen (device_error in the runner, buffer_error in the
// station, bad commands in the command handler). Anything that still escapes is logged and the loop goes on: one
// bad input must not stop a station.
template <class Fn>
void EventLoop::guarded(const char* what, Fn&& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::error("event loop: {} failed: {} (continuing)", what, e.what());
  } catch (...) {
    spdlog::error("event loop: {} failed (continuing)", what);
  }
}

bool EventLoop::run_once(std::chrono::milliseconds timeout) {
  epoll_event events[32];
  const int n = ::epoll_wait(epoll_.get(), events, 32, static_cast<int>(timeout.count()));
  if (n < 0 && errno != EINTR) fail("epoll_wait");
  for (int i = 0; i < n; ++i) {
    // Look the handler up per event: an earlier handler in this batch may have unwatched this fd.
    auto it = handlers_.find(events[i].data.fd);
    if (it == handlers_.end()) continue;
    auto handler = it->second;  // keeps it alive even if it unwatches itself
    const std::uint32_t ev = events[i].events;
    guarded("handler", [&] { (*handler)(ev); });
  }
  for (auto& hook : end_hooks_) guarded("end-of-iteration hook", hook);
  return !stopping_;
}

void EventLoop::run() {
  while (run_once()) {
  }
}

}  // namespace tally
