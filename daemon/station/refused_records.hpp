#pragma once
// Records the broker refused and the publisher parked (Publisher::on_refused): one publish.refused event per topic
// at most every report_interval, naming every parked seq, and the publish.refused alarm, cleared once the broker
// has refused nothing for as long as the publisher remembers a refusing topic. When the broker refuses B/events
// itself, an event would be refused and parked too and feed itself: the log says it instead.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "log/log_limit.hpp"
#include "loop/event_loop.hpp"
#include "station/journal.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class RefusedRecords {
 public:
  RefusedRecords(EventLoop& loop, std::string events_topic, Journal& journal, StationAlarms& alarms);

  void refused(Seq seq, const std::string& topic, int reason, const std::string& why);

  static constexpr std::chrono::seconds report_interval{10};

 private:
  void report();

  struct Pending {
    int reason = 0;
    std::string error;
    std::vector<Seq> seqs;
  };
  std::string events_topic_;
  Journal& journal_;
  StationAlarms& alarms_;
  std::map<std::string, Pending> pending_;  // by topic
  std::chrono::steady_clock::time_point reported_{};
  Timer report_timer_, quiet_timer_;
  LogLimit events_refused_log_;
};

}  // namespace tally
