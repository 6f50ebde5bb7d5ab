#pragma once
// The last hour of one reading device in fixed buckets (count, min, mean, max per bucket), published retained on
// B/devices/<device>/recent so that a viewer draws a chart the moment it connects, without a history server
// (docs/web.md gives the payload). Pure: values and their timestamps in, a summary out; no clock, no I/O.
//
// Buckets are aligned on the wall clock (multiples of the bucket length since the epoch), like the readings' `ts`.
// The summary is worth publishing when a reading opens a new bucket: the one before it is then complete, so it is
// refreshed once per bucket and costs no timer and no wake-up of its own.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include "record/record.hpp"

namespace tally {

class RecentSeries {
 public:
  struct Bucket {
    std::int64_t start_ms;  // wall clock, a multiple of the bucket length
    double min, max, sum;
    std::int64_t n;
  };

  explicit RecentSeries(std::chrono::seconds bucket = std::chrono::seconds(60), int buckets = 60);

  // Adds a value taken at `ts`. Returns true when it opened a new bucket after an earlier one (the summary is worth
  // publishing). A value older than the newest bucket goes into its own bucket while that is still kept; a clock
  // that stepped back by more than one bucket (NTP sync on a Pi without an RTC) starts the series again.
  bool add(wall_time ts, double value);
  // Names the series: the device's latest quantity and unit, as its readings carry them.
  void describe(const std::string& quantity, const std::string& unit);

  // {"device","quantity","unit","bucket_s","span_s","updated","buckets":[{"ts","n","min","mean","max"}...]}:
  // oldest bucket first; `updated` is the time of the latest value in it (live readings after it are not in it).
  json summary(const std::string& device) const;

  const std::deque<Bucket>& buckets() const { return buckets_; }

 private:
  std::int64_t bucket_ms_;
  std::size_t max_buckets_;
  std::deque<Bucket> buckets_;
  std::int64_t updated_ms_ = 0;
  std::string quantity_, unit_;
};

}  // namespace tally
