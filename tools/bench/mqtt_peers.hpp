#pragma once
// The two MQTT peers of the benchmark, both Paho C++ async clients without file persistence:
// - Recorder: subscribes to everything under "tally/#" at QoS 1 and records, for every reading, the steady-clock
//   time it arrived. A reading is identified by its value: the feeder writes "T=<n> C" lines with a unique counter
//   n and remembers when it wrote each one, so latency = arrival[n] - sent[n].
// - ceiling_publish(): a plain QoS 1 publisher with a window of 20 outstanding publishes and tallyd's payload
//   size, to the same broker and the same Recorder: the machine's ceiling for the record stream.
#include <mqtt/async_client.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace bench {

struct Range {
  std::int64_t begin = 0, end = 0;  // counters [begin, end)
  std::int64_t size() const { return end - begin; }
};

struct LatencyStats {
  std::int64_t count = 0, lost = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
};

class Recorder {
 public:
  Recorder(const std::string& url, std::int64_t capacity);
  ~Recorder();

  // Counters are handed out here so that the feeder and the ceiling publisher never collide.
  std::int64_t take(std::int64_t count) { return next_.fetch_add(count); }
  std::int64_t capacity() const { return capacity_; }
  void set_sent(std::int64_t n, std::int64_t t_ns) { sent_[n].store(t_ns, std::memory_order_relaxed); }
  std::int64_t sent(std::int64_t n) const { return sent_[n].load(std::memory_order_relaxed); }
  std::int64_t arrival(std::int64_t n) const { return arrival_[n].load(std::memory_order_acquire); }
  std::int32_t payload_size(std::int64_t n) const { return size_[n].load(std::memory_order_relaxed); }

  // Waits until every counter in `r` arrived; false at the deadline.
  bool wait_all(Range r, double timeout_s) const;
  std::int64_t arrived(Range r) const;
  std::int64_t arrived_between(Range r, std::int64_t from_ns, std::int64_t to_ns) const;
  std::pair<std::int64_t, std::int64_t> first_last_arrival(Range r) const;  // 0,0 when none
  std::int64_t payload_bytes(Range r) const;
  LatencyStats latency(Range r) const;
  std::int64_t duplicates() const { return duplicates_.load(); }
  std::int64_t unique() const { return unique_.load(std::memory_order_relaxed); }  // first arrivals so far

  // Records (readings and events, not the retained state topics) under "tally/<station>/" that arrived after
  // `after_ns`: the time of the first one, if any.
  std::optional<std::int64_t> first_record_after(const std::string& station, std::int64_t after_ns) const;
  // Events: arrival time of the `count`-th event named `event` from `station` after `after_ns`.
  std::optional<std::int64_t> event_after(const std::string& station, const std::string& event,
                                          std::int64_t after_ns, int count = 1) const;
  bool wait_event(const std::string& station, const std::string& event, std::int64_t after_ns, int count,
                  double timeout_s) const;

  bool connected() const;
  std::uint64_t subscriptions() const { return subscribed_.load(); }  // SUBACKs so far (one per (re)connect)
  bool wait_subscribed(std::uint64_t more_than, double timeout_s) const;
  std::int64_t last_message_ns() const { return last_message_ns_.load(); }

 private:
  struct Impl;
  void on_message(const mqtt::const_message_ptr& msg);

  std::int64_t capacity_;
  std::atomic<std::int64_t> next_{0};
  std::unique_ptr<std::atomic<std::int64_t>[]> sent_, arrival_;
  std::unique_ptr<std::atomic<std::int32_t>[]> size_;
  std::atomic<std::int64_t> duplicates_{0}, unique_{0}, last_message_ns_{0};
  std::atomic<std::uint64_t> subscribed_{0};
  struct Message {
    std::int64_t t_ns;
    std::string station;
    std::string event;  // empty for readings
  };
  mutable std::mutex mutex_;
  std::vector<Message> records_;  // every event; the first reading after a quiet spell, and a sample of the rest
  std::string last_reading_station_;
  std::int64_t last_reading_push_ns_ = 0;
  std::unique_ptr<Impl> impl_;
};

struct CeilingResult {
  std::int64_t published = 0;
  Range range;
  std::int64_t t0_ns = 0;
};
// Publishes for `duration_s` with at most `window` unacknowledged QoS 1 publishes, on topic `topic`, payloads of
// exactly `payload_size` bytes shaped like tallyd's records (so the Recorder parses them the same way).
CeilingResult ceiling_publish(const std::string& url, Recorder& recorder, const std::string& topic,
                              const std::string& station, std::size_t payload_size, double duration_s,
                              std::size_t window = 20);

}  // namespace bench
