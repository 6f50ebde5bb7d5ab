#include "mqtt_peers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "harness.hpp"

namespace bench {

namespace {
// "tally/<station>/readings/<device>" or "tally/<station>/events"
std::string station_of(std::string_view topic) {
  const auto a = topic.find('/');
  if (a == std::string_view::npos) return {};
  const auto b = topic.find('/', a + 1);
  if (b == std::string_view::npos) return {};
  return std::string(topic.substr(a + 1, b - a - 1));
}

std::optional<std::int64_t> value_counter(std::string_view payload) {
  static constexpr std::string_view key = "\"value\":";
  const auto at = payload.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* p = payload.data() + at + key.size();
  const char* end = payload.data() + payload.size();
  if (p >= end || *p < '0' || *p > '9') return std::nullopt;
  std::int64_t v = 0;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
  return v;
}

std::string string_field(std::string_view payload, std::string_view name) {
  std::string key;
  key.reserve(name.size() + 4);
  key += '"';
  key += name;
  key += "\":\"";
  const auto at = payload.find(key);
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  const auto stop = payload.find('"', start);
  return std::string(payload.substr(start, stop - start));
}
}  // namespace

struct Recorder::Impl : mqtt::iaction_listener {
  explicit Impl(Recorder& r, const std::string& url)
      : recorder(r), client(url, "tally-bench-recorder", mqtt::create_options(MQTTVERSION_3_1_1), nullptr) {}
  void on_success(const mqtt::token&) override { recorder.subscribed_.fetch_add(1); }
  void on_failure(const mqtt::token&) override {}
  Recorder& recorder;
  mqtt::async_client client;
};

Recorder::Recorder(const std::string& url, std::int64_t capacity)
    : capacity_(capacity),
      sent_(new std::atomic<std::int64_t>[static_cast<std::size_t>(capacity)]),
      arrival_(new std::atomic<std::int64_t>[static_cast<std::size_t>(capacity)]),
      size_(new std::atomic<std::int32_t>[static_cast<std::size_t>(capacity)]) {
  for (std::int64_t i = 0; i < capacity; ++i) {
    sent_[i].store(0, std::memory_order_relaxed);
    arrival_[i].store(0, std::memory_order_relaxed);
    size_[i].store(0, std::memory_order_relaxed);
  }
  impl_ = std::make_unique<Impl>(*this, url);
  Impl* impl = impl_.get();
  impl->client.set_message_callback([this](mqtt::const_message_ptr msg) { on_message(msg); });
  impl->client.set_connected_handler([impl](const std::string&) {
    try {
      impl->client.subscribe("tally/#", 1, nullptr, *impl);
    } catch (...) {
    }
  });
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(true)
                     .keep_alive_interval(std::chrono::seconds(30))
                     .connect_timeout(std::chrono::seconds(5))
                     .automatic_reconnect(std::chrono::milliseconds(100), std::chrono::milliseconds(200))
                     .finalize();
  impl->client.connect(options)->wait_for(std::chrono::seconds(10));
  if (!wait_subscribed(0, 10)) throw std::runtime_error("recorder: no SUBACK from " + url);
}

Recorder::~Recorder() {
  try {
    impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (...) {
  }
}

bool Recorder::connected() const { return impl_->client.is_connected(); }

bool Recorder::wait_subscribed(std::uint64_t more_than, double timeout_s) const {
  const auto end = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  while (subscribed_.load() <= more_than) {
    if (now_ns() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void Recorder::on_message(const mqtt::const_message_ptr& msg) {
  const std::int64_t t = now_ns();
  last_message_ns_.store(t, std::memory_order_relaxed);
  if (msg->is_retained()) return;  // state topics replayed on (re)subscribe
  const std::string_view topic = msg->get_topic_ref().to_string();
  const std::string_view payload(msg->get_payload_ref().data(), msg->get_payload_ref().size());
  if (topic.find("/readings/") != std::string_view::npos) {
    const auto n = value_counter(payload);
    if (n && *n >= 0 && *n < capacity_) {
      std::int64_t expected = 0;
      if (arrival_[*n].compare_exchange_strong(expected, t, std::memory_order_acq_rel)) {
        size_[*n].store(static_cast<std::int32_t>(payload.size()), std::memory_order_relaxed);
        unique_.fetch_add(1, std::memory_order_relaxed);
      } else {
        duplicates_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    // Keep the first reading after a quiet spell (or from another station) and one in 1024 otherwise: enough
    // for "first record after T" questions without keeping millions of entries.
    std::lock_guard lock(mutex_);
    std::string station = station_of(topic);
    if ((n && (*n & 1023) == 0) || t - last_reading_push_ns_ > 50'000'000 || station != last_reading_station_) {
      records_.push_back({t, station, {}});
      last_reading_station_ = std::move(station);
    }
    last_reading_push_ns_ = t;
    return;
  }
  if (topic.size() > 7 && topic.substr(topic.size() - 7) == "/events") {
    std::lock_guard lock(mutex_);
    records_.push_back({t, station_of(topic), string_field(payload, "event")});
  }
}

std::optional<std::int64_t> Recorder::first_record_after(const std::string& station, std::int64_t after_ns) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : records_)
    if (m.t_ns > after_ns && m.station == station) return m.t_ns;
  return std::nullopt;
}

std::optional<std::int64_t> Recorder::event_after(const std::string& station, const std::string& event,
                                                  std::int64_t after_ns, int count) const {
  std::lock_guard lock(mutex_);
  int seen = 0;
  for (const auto& m : records_)
    if (m.t_ns > after_ns && m.station == station && m.event == event && ++seen == count) return m.t_ns;
  return std::nullopt;
}

bool Recorder::wait_event(const std::string& station, const std::string& event, std::int64_t after_ns, int count,
                          double timeout_s) const {
  const auto end = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  while (!event_after(station, event, after_ns, count)) {
    if (now_ns() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool Recorder::wait_all(Range r, double timeout_s) const {
  const auto end = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  std::int64_t lowest = r.begin;
  for (;;) {
    while (lowest < r.end && arrival(lowest) != 0) ++lowest;
    if (lowest == r.end) return true;
    if (now_ns() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::int64_t Recorder::arrived(Range r) const {
  std::int64_t n = 0;
  for (auto i = r.begin; i < r.end; ++i) n += arrival(i) != 0;
  return n;
}

std::int64_t Recorder::arrived_between(Range r, std::int64_t from_ns, std::int64_t to_ns) const {
  std::int64_t n = 0;
  for (auto i = r.begin; i < r.end; ++i) {
    const auto t = arrival(i);
    n += t != 0 && t >= from_ns && t < to_ns;
  }
  return n;
}

std::pair<std::int64_t, std::int64_t> Recorder::first_last_arrival(Range r) const {
  std::int64_t first = 0, last = 0;
  for (auto i = r.begin; i < r.end; ++i) {
    const auto t = arrival(i);
    if (t == 0) continue;
    if (first == 0 || t < first) first = t;
    last = std::max(last, t);
  }
  return {first, last};
}

std::int64_t Recorder::payload_bytes(Range r) const {
  std::int64_t n = 0;
  for (auto i = r.begin; i < r.end; ++i) n += payload_size(i);
  return n;
}

LatencyStats Recorder::latency(Range r) const {
  std::vector<double> ms;
  LatencyStats s;
  for (auto i = r.begin; i < r.end; ++i) {
    const auto a = arrival(i), t = sent(i);
    if (a == 0 || t == 0) {
      ++s.lost;
      continue;
    }
    ms.push_back(static_cast<double>(a - t) / 1e6);
  }
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {  // nearest rank
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(ms.size())));
    return ms[std::min(ms.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  s.count = static_cast<std::int64_t>(ms.size());
  s.p50_ms = pct(50);
  s.p90_ms = pct(90);
  s.p99_ms = pct(99);
  s.p999_ms = pct(99.9);
  s.max_ms = ms.back();
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean_ms = sum / static_cast<double>(ms.size());
  return s;
}

// ---- the ceiling

namespace {
struct Window : mqtt::iaction_listener {
  std::mutex mutex;
  std::condition_variable cv;
  std::size_t inflight = 0;
  std::uint64_t failed = 0;
  void done(bool ok) {
    {
      std::lock_guard lock(mutex);
      --inflight;
      if (!ok) ++failed;
    }
    cv.notify_one();
  }
  void on_success(const mqtt::token&) override { done(true); }
  void on_failure(const mqtt::token&) override { done(false); }
};

// Shaped like tallyd's reading records: {"seq":..,"ts":..,"station":..,"device":..,"quantity":..,"value":..,"unit":..}
std::string ceiling_payload(std::int64_t n, const std::string& station, std::size_t size) {
  std::string p = "{\"seq\":" + std::to_string(n + 1) + ",\"ts\":\"2026-11-24T10:15:02.123Z\",\"station\":\"" +
                  station + "\",\"device\":\"d0\",\"quantity\":\"temperature\",\"value\":" + std::to_string(n) +
                  ".0,\"unit\":\"degC\"";
  if (p.size() + 1 < size) p.append(size - p.size() - 1, ' ');
  p += '}';
  return p;
}
}  // namespace

CeilingResult ceiling_publish(const std::string& url, Recorder& recorder, const std::string& topic,
                              const std::string& station, std::size_t payload_size, double duration_s,
                              std::size_t window) {
  mqtt::async_client client(url, "tally-bench-ceiling", mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(true)
                     .keep_alive_interval(std::chrono::seconds(30))
                     .automatic_reconnect(false)
                     .finalize();
  client.connect(options)->wait_for(std::chrono::seconds(10));
  if (!client.is_connected()) throw std::runtime_error("ceiling: cannot connect to " + url);

  // Counters are taken in blocks so the recorder's arrays are never overrun: at most 50k/s for duration_s.
  const auto budget = static_cast<std::int64_t>(duration_s * 60'000) + 1000;
  CeilingResult result;
  result.range.begin = recorder.take(budget);
  result.range.end = result.range.begin;
  Window w;
  result.t0_ns = now_ns();
  const auto end = result.t0_ns + static_cast<std::int64_t>(duration_s * 1e9);
  std::int64_t n = result.range.begin;
  while (now_ns() < end && n < result.range.begin + budget) {
    {
      std::unique_lock lock(w.mutex);
      w.cv.wait(lock, [&] { return w.inflight < window; });
      ++w.inflight;
    }
    auto msg = mqtt::make_message(topic, ceiling_payload(n, station, payload_size), 1, false);
    recorder.set_sent(n, now_ns());
    try {
      client.publish(msg, nullptr, w);
    } catch (const mqtt::exception&) {
      std::lock_guard lock(w.mutex);
      --w.inflight;
      break;
    }
    ++n;
  }
  {
    std::unique_lock lock(w.mutex);
    w.cv.wait_for(lock, std::chrono::seconds(10), [&] { return w.inflight == 0; });
  }
  result.range.end = n;
  result.published = n - result.range.begin;
  try {
    client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (...) {
  }
  return result;
}

}  // namespace bench
