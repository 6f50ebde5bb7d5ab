#pragma once
// Deadband and publish interval: with `deadband` or `publish_every_s` set, a reading is published only when it moved
// beyond the deadband from the last published one, its fault or stability changed, or publish_every_s has passed.
// With neither set, everything passes. Pure, so it is tested without a device.
#include <chrono>
#include <cmath>
#include <optional>

#include "api/input.hpp"

namespace tally {

class ReportFilter {
 public:
  ReportFilter(double deadband, double publish_every_s) : deadband_(deadband), every_s_(publish_every_s) {}

  bool pass(const Reading& r, std::chrono::steady_clock::time_point now) {
    if (deadband_ <= 0 && every_s_ <= 0) return true;
    const bool due = !last_ || (every_s_ > 0 && std::chrono::duration<double>(now - last_time_).count() >= every_s_);
    const bool changed = last_ && (r.fault != last_->fault || r.stable != last_->stable ||
                                   r.value.has_value() != last_->value.has_value() ||
                                   (r.value && moved(*r.value, *last_->value)));
    if (!due && !changed) return false;
    last_ = r;
    last_time_ = now;
    return true;
  }

 private:
  bool moved(double v, double last) const { return deadband_ > 0 ? std::fabs(v - last) > deadband_ : v != last; }
  double deadband_, every_s_;
  std::optional<Reading> last_;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace tally
