#include "station/refused_records.hpp"

#include <spdlog/spdlog.h>

#include "mqtt/publisher.hpp"

namespace tally {

RefusedRecords::RefusedRecords(EventLoop& loop, std::string events_topic, Journal& journal, StationAlarms& alarms)
    : events_topic_(std::move(events_topic)),
      journal_(journal),
      alarms_(alarms),
      report_timer_(loop, [this] { report(); }),
      quiet_timer_(loop, [this] { alarms_.clear("publish.refused", "no refusal for 10 minutes"); }) {}

void RefusedRecords::refused(Seq seq, const std::string& topic, int reason, const std::string& why) {
  if (topic == events_topic_) {
    std::uint64_t suppressed = 0;
    if (events_refused_log_.allow(suppressed))
      spdlog::error("mqtt: the broker refuses {} itself ({}); seq {} parked", topic, why, seq);
    return;
  }
  auto& p = pending_[topic];
  p.reason = reason;
  p.error = why;
  p.seqs.push_back(seq);
  // One event per topic at most every report_interval, naming every parked seq: a denied topic with a reading every
  // 100 ms must not turn into ten events a second.
  if (!report_timer_.armed()) {
    const auto since = std::chrono::steady_clock::now() - reported_;
    if (since >= report_interval) report();
    else report_timer_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(report_interval - since));
  }
}

void RefusedRecords::resumed(const std::string& topic, std::uint64_t count, std::size_t still_set_aside) {
  if (!pending_.empty()) report();  // the refusals first, then their end, in the record stream
  journal_.event("publish.resumed", {{"topic", topic}, {"count", count}});
  if (still_set_aside == 0) {
    quiet_timer_.disarm();
    alarms_.clear("publish.refused", "every set-aside record was taken");
  }
}

void RefusedRecords::report() {
  for (auto& [topic, p] : pending_) {
    json seqs = json::array();
    for (std::size_t i = 0; i < p.seqs.size() && i < 1000; ++i) seqs.push_back(p.seqs[i]);
    alarms_.raise(SystemAlarm{"publish.refused", Severity::warning,
                              "the broker refused " + std::to_string(p.seqs.size()) + " records on " + topic + " (" +
                                  p.error + ")",
                              {}, {}, {}});
    quiet_timer_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(Publisher::refused_topic_memory));
    journal_.event("publish.refused", {{"topic", topic},
                                       {"reason", p.reason},
                                       {"error", p.error},
                                       {"first_seq", p.seqs.front()},
                                       {"last_seq", p.seqs.back()},
                                       {"count", p.seqs.size()},
                                       {"seqs", seqs}});
  }
  pending_.clear();
  reported_ = std::chrono::steady_clock::now();
}

}  // namespace tally
