#pragma once
// The emulator's clock and its way out: a timerfd ticking at a steady rate (absolute deadlines on CLOCK_MONOTONIC,
// so the rate does not drift with the time spent working) and SIGINT/SIGTERM/SIGHUP through a signalfd. Construct
// it before starting any thread: it blocks those signals for the process.
#include <poll.h>

#include <chrono>
#include <cstdint>
#include <span>

namespace tally::emu {

class EventLoop {
 public:
  explicit EventLoop(std::chrono::nanoseconds interval);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  struct Wake {
    std::uint64_t ticks = 0;  // intervals elapsed since the last wake (more than 1: we were late)
    int signal = 0;           // a stop signal arrived (its number)
  };
  // Blocks until a tick, a stop signal, or an event on one of `extra` (whose revents are filled in).
  Wake wait(std::span<pollfd> extra = {});

 private:
  int timer_ = -1;
  int signals_ = -1;
};

}  // namespace tally::emu
