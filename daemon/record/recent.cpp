#include "record/recent.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tally {

namespace {
std::int64_t epoch_ms(wall_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::int64_t floor_to(std::int64_t ms, std::int64_t step) {
  const std::int64_t q = ms / step;
  return (ms % step < 0 ? q - 1 : q) * step;
}

// A mean like 45.233333333333334 costs 18 bytes in every bucket of every summary; 7 significant digits are far
// beyond any sensor here (a thermocouple resolves 0.25 degC, a bench scale 1 part in 10^5).
double significant7(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", x);
  return std::strtod(text, nullptr);
}
}  // namespace

RecentSeries::RecentSeries(std::chrono::seconds bucket, int buckets)
    : bucket_ms_(std::max<std::int64_t>(1000, bucket.count() * 1000)),
      max_buckets_(static_cast<std::size_t>(std::max(1, buckets))) {}

void RecentSeries::describe(const std::string& quantity, const std::string& unit) {
  quantity_ = quantity;
  unit_ = unit;
}

bool RecentSeries::add(wall_time ts, double value) {
  if (!std::isfinite(value)) return false;
  const std::int64_t ms = epoch_ms(ts);
  const std::int64_t start = floor_to(ms, bucket_ms_);
  bool opened_after_another = false;
  if (!buckets_.empty() && start < buckets_.back().start_ms) {
    if (start < buckets_.back().start_ms - bucket_ms_) {  // the clock stepped back
      buckets_.clear();
      updated_ms_ = 0;
    }
  }
  // Nearly every value belongs to the newest bucket: look there first.
  auto it = !buckets_.empty() && buckets_.back().start_ms == start
                ? std::prev(buckets_.end())
                : std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return b.start_ms == start; });
  if (it == buckets_.end()) {
    opened_after_another = !buckets_.empty() && start > buckets_.back().start_ms;
    const auto pos = std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return b.start_ms > start; });
    it = buckets_.insert(pos, Bucket{start, value, value, 0.0, 0});
    // Keep one span: the newest bucket and the max_buckets_ - 1 before it.
    const std::int64_t oldest = buckets_.back().start_ms - static_cast<std::int64_t>(max_buckets_ - 1) * bucket_ms_;
    while (!buckets_.empty() && buckets_.front().start_ms < oldest) buckets_.pop_front();
    if (buckets_.empty() || start < oldest) return opened_after_another;
    it = std::find_if(buckets_.begin(), buckets_.end(), [&](const Bucket& b) { return b.start_ms == start; });
  }
  it->min = std::min(it->min, value);
  it->max = std::max(it->max, value);
  it->sum += value;
  ++it->n;
  updated_ms_ = std::max(updated_ms_, ms);
  return opened_after_another;
}

json RecentSeries::summary(const std::string& device) const {
  json out{{"device", device}, {"quantity", quantity_}, {"unit", unit_}, {"bucket_s", bucket_ms_ / 1000},
           {"span_s", static_cast<std::int64_t>(max_buckets_) * bucket_ms_ / 1000}};
  if (updated_ms_ != 0) out["updated"] = format_ts(wall_time(std::chrono::milliseconds(updated_ms_)));
  json list = json::array();
  for (const auto& b : buckets_) {
    if (b.n == 0) continue;
    list.push_back({{"ts", format_ts(wall_time(std::chrono::milliseconds(b.start_ms)))},
                    {"n", b.n},
                    {"min", b.min},
                    {"mean", significant7(b.sum / static_cast<double>(b.n))},
                    {"max", b.max}});
  }
  out["buckets"] = std::move(list);
  return out;
}

}  // namespace tally
