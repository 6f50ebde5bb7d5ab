#pragma once
// Software debounce on the kernel's edge timestamps (libgpiod 1.6 / the v1 GPIO uAPI has no debounce setting).
// A change of level is accepted once the line has stayed at the new level for `window` after its LAST edge; a
// burst of bounces that ends back at the old level is no change at all. The accepted transition is dated at the
// burst's FIRST edge: when the contact actually closed. Pure: times in, transitions out.
#include <chrono>
#include <optional>

namespace tally::gpio_counter {

struct Transition {
  bool level = false;                // the new, settled level (true = active)
  std::chrono::nanoseconds at{0};    // the first edge of the burst, on CLOCK_MONOTONIC
};

class Debouncer {
 public:
  Debouncer(bool initial_level, std::chrono::nanoseconds window) : stable_(initial_level), window_(window) {}

  // An edge at `t` leaving the line at `level`. Call settle(t) first, so a burst that had already settled before
  // this edge is accepted with its own timing (edges are read in batches, long after they happened).
  void edge(bool level, std::chrono::nanoseconds t) {
    if (!pending_) burst_start_ = t;
    pending_ = true;
    candidate_ = level;
    last_edge_ = t;
  }
  // The transition that has settled by `now`, if any.
  std::optional<Transition> settle(std::chrono::nanoseconds now) {
    if (!pending_ || now - last_edge_ < window_) return std::nullopt;
    pending_ = false;
    if (candidate_ == stable_) return std::nullopt;  // bounced back: nothing happened
    stable_ = candidate_;
    return Transition{stable_, burst_start_};
  }
  // When settle() can next accept something; empty when nothing is pending.
  std::optional<std::chrono::nanoseconds> deadline() const {
    if (!pending_) return std::nullopt;
    return last_edge_ + window_;
  }
  bool level() const { return stable_; }

 private:
  bool stable_;
  std::chrono::nanoseconds window_;
  bool pending_ = false;
  bool candidate_ = false;
  std::chrono::nanoseconds last_edge_{0}, burst_start_{0};
};

}  // namespace tally::gpio_counter
