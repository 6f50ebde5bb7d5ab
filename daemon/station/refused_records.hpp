#pragma once
// Records the broker refused and the publisher set aside (Publisher::on_refused): one publish.refused event per
// topic at most every report_interval, naming every set-aside seq, and the publish.refused alarm. When the broker
// takes a topic's set-aside records at last (Publisher::on_resumed), a publish.resumed event {topic, count}; the
// alarm clears once nothing is set aside on any topic (or, after a restart that forgot what was set aside, once the
// broker has refused nothing for as long as the publisher remembers a refusing topic). When the broker refuses
// B/events itself, an event would be refused and set aside too and feed itself: the log says it instead.
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
  // Every set-aside record of `topic` was taken (`count` of them); `still_set_aside` on other topics.
  void resumed(const std::string& topic, std::uint64_t count, std::size_t still_set_aside);

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
