#pragma once
// Rate limits for log lines that outside input can drive (a refusing broker, a flood on B/cmd, serial noise):
// at most `burst` lines per `period`, then one line saying how many were suppressed. The log stays readable and
// the SD card is spared, and nothing that happened goes unmentioned.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "log/log_escape.hpp"

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

// Drops of a device's input (noise, bad frames: a flood can be 100,000 a second) in the log: the first drop at
// once, then at most one line per `period` saying how many were dropped since the last line, by reason, and the
// total. A summary still owed when the drops stop is due at next_line() (the owner arms a timer) or at flush().
// Reasons are the driver's words; at most kReasons distinct ones are named, the rest counted as "other".
class DropLog {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t kReasons = 8;
  explicit DropLog(std::chrono::seconds period = std::chrono::seconds(60)) : period_(period) {}

  // Counts one drop; returns the line to log now, if one is due.
  std::optional<std::string> note(std::string_view why, clock::time_point now) {
    ++total_;
    ++pending_;
    const std::string reason = escape_for_log(why, 120);
    if (by_reason_.size() < kReasons || by_reason_.count(reason)) ++by_reason_[reason];
    else ++other_;
    if (logged_ && now - last_line_ < period_) return std::nullopt;
    return line(now);
  }
  // The summary owed, if any drops were not logged yet (at a timer, or when the device closes).
  std::optional<std::string> flush(clock::time_point now) {
    if (pending_ == 0) return std::nullopt;
    return line(now);
  }
  // When the owed summary may be logged; nullopt when nothing is owed.
  std::optional<clock::time_point> next_line() const {
    if (pending_ == 0) return std::nullopt;
    return last_line_ + period_;
  }
  std::uint64_t total() const { return total_; }

 private:
  std::string line(clock::time_point now) {
    std::string text = "dropped input: ";
    if (!logged_) {
      text += by_reason_.begin()->first;
    } else {
      text += std::to_string(pending_) + " since the last line (";
      bool first = true;
      for (const auto& [reason, count] : by_reason_) {
        text += (first ? "" : ", ") + reason + ": " + std::to_string(count);
        first = false;
      }
      if (other_ > 0) text += ", other: " + std::to_string(other_);
      text += ")";
    }
    text += "; " + std::to_string(total_) + " dropped so far";
    logged_ = true;
    last_line_ = now;
    pending_ = other_ = 0;
    by_reason_.clear();
    return text;
  }

  std::chrono::seconds period_;
  bool logged_ = false;
  clock::time_point last_line_{};
  std::uint64_t total_ = 0, pending_ = 0, other_ = 0;
  std::map<std::string, std::uint64_t> by_reason_;
};

}  // namespace tally
