#pragma once
// The one event loop of tallyd: epoll over device descriptors, timerfds, a signalfd and an eventfd that other
// threads (Paho's) use to hand work over. Level-triggered; every descriptor is non-blocking. After each wake-up,
// once every ready handler has run, the end-of-iteration hooks run: that is where the buffer commits a whole burst in
// one transaction and the publisher sends it.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "api/unique_fd.hpp"

namespace tally {

class EventLoop;

// A one-shot or periodic timer (a timerfd). Move-only; disarms and unregisters itself on destruction.
class Timer {
 public:
  Timer() = default;
  Timer(EventLoop& loop, std::function<void()> on_expiry);
  Timer(Timer&&) noexcept;
  Timer& operator=(Timer&&) noexcept;
  ~Timer();
  void arm(std::chrono::milliseconds first, std::chrono::milliseconds interval = std::chrono::milliseconds{0});
  void disarm();
  bool armed() const { return state_ && state_->armed; }  // false again once a one-shot timer has fired

 private:
  void release() noexcept;
  // On the heap so the loop's handler can reach it wherever the Timer is moved.
  struct State {
    std::function<void()> on_expiry;
    bool armed = false;
    bool periodic = false;
  };
  EventLoop* loop_ = nullptr;
  unique_fd fd_;
  std::unique_ptr<State> state_;
};

class EventLoop {
 public:
  using Handler = std::function<void(std::uint32_t epoll_events)>;
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  void watch(int fd, Handler handler);  // EPOLLIN (hang-ups and errors are reported too)
  void unwatch(int fd) noexcept;
  // Signals must already be blocked in every thread (main does it before any thread starts).
  void on_signals(std::initializer_list<int> signals, std::function<void(int)> handler);
  // Runs `fn` on the loop thread soon. Safe from any thread, including Paho's callbacks; never blocks for long.
  void post(std::function<void()> fn);
  void at_iteration_end(std::function<void()> hook);

  // One wait (up to `timeout`, negative = forever) and dispatch. Returns false once stop() was called.
  bool run_once(std::chrono::milliseconds timeout = std::chrono::milliseconds{-1});
  void run();
  void stop() { stopping_ = true; }

 private:
  void drain_posted();
  template <class Fn>
  void guarded(const char* what, Fn&& fn) noexcept;
  unique_fd epoll_;
  unique_fd signal_fd_;
  unique_fd wake_fd_;
  std::map<int, std::shared_ptr<Handler>> handlers_;
  std::function<void(int)> signal_handler_;
  std::vector<std::function<void()>> end_hooks_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;
};

}  // namespace tally
