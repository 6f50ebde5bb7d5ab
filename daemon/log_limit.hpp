#pragma once
// Rate limits for log lines that outside input can drive (a refusing broker, a flood on B/cmd, serial noise):
// at most `burst` lines per `period`, then one line saying how many were suppressed. The log stays readable and
// the SD card is spared, and nothing that happened goes unmentioned.
#include <chrono>
#include <cstdint>

namespace tally {

class LogLimit {
 public:
  explicit LogLimit(int burst = 10, std::chrono::seconds period = std::chrono::seconds(60))
      : burst_(burst), period_(period) {}

  // True when this line may be logged. `suppressed` is set to the number of lines held back since the last line
  // that was logged (mention it in that line).
  bool allow(std::uint64_t& suppressed, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    if (now - window_start_ >= period_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      return false;
    }
    ++used_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  int burst_;
  std::chrono::seconds period_;
  std::chrono::steady_clock::time_point window_start_{};
  int used_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace tally
