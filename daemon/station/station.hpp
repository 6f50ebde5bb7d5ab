#pragma once
// The station: where a reading becomes a record. It owns the buffer, the publisher and the device runners, stamps
// every reading and event with the station's context, commits once per event-loop iteration and lets the publisher
// send what was committed.
//
//   driver --Reading--> DeviceRunner --(deadband)--> Station::on_reading --stamp--> Buffer::append
//   driver --Scan/Pulse--> DeviceRunner --> Station::on_scan/on_pulse --> record + the production command it drives
//   end of loop iteration: Buffer::commit() --> Publisher::pump() --QoS 1--> broker --PUBACK--> Buffer::acknowledge
//
// station.cpp: lifecycle, device state, commit and publish. station_input.cpp: what device input becomes.
// station_commands.cpp: commands from MQTT (and from scans and pulses) with their replies and events.
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/engine.hpp"
#include "notify/notifier.hpp"
#include "buffer/buffer.hpp"
#include "config/config.hpp"
#include "devices/device_runner.hpp"
#include "loop/event_loop.hpp"
#include "log/log_limit.hpp"
#include "outputs/outputs.hpp"
#include "production/production.hpp"
#include "mqtt/publisher.hpp"
#include "record/stamp.hpp"
#include "record/recent.hpp"
#include "commands/decode.hpp"

namespace tally {

class Station {
 public:
  Station(Config config, EventLoop& loop);  // opens the buffer (throws buffer_error) and builds the publisher
  ~Station();

  void start();                              // daemon.started, open devices, connect
  // SIGHUP: loads the file again; an invalid one is logged and the running configuration kept. Devices are
  // replaced; the buffer and the connection stay (changes to [station], [mqtt], [buffer] need a restart).
  bool reload();
  // SIGTERM/SIGINT: stop reading devices, record daemon.stopped, commit, give the publisher up to `drain` to
  // deliver, publish the offline status and disconnect.
  // Returns false when the process must leave with std::_Exit (see Publisher::stop).
  bool shutdown(const std::string& reason, std::chrono::milliseconds drain);

  // System alarms raised and cleared by other parts of the daemon (buffer.disk, buffer.corrupt, publish.refused):
  // recorded, published, held on outputs and pushed like every alarm (station_alarms.cpp). Raising an active alarm
  // again only updates its value.
  void raise_alarm(const SystemAlarm& alarm);
  void clear_alarm(const std::string& id, const std::string& reason);

 private:
  // station_alarms.cpp: what an alarm transition becomes (records, retained B/alarms/<id>, outputs, notifications,
  // the step's list in the batch record) and the state saved with it.
  void alarm_transitions(AlarmEngine::Transitions transitions);
  void restore_alarms();
  void configure_alarms();
  void arm_alarm_timer();
  void save_alarms();
  void publish_alarms();
  void check_buffer_usage();
  void step_alarms(const Outcome& outcome);
  void ack_alarm(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args);
  std::string alarm_payload(const Alarm& a) const;
  void start_devices();
  void on_command(const Publisher::Command& c);
  void note_limited_commands();
  static std::string remembered_key(const json& id, const std::string& cmd);
  void load_remembered_replies();
  void remember_reply(const std::string& key, const std::string& answer);
  void handle_command(const Publisher::Command& c);
  // Replies to a command and records it as a `command` event.
  void finish_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args,
                      bool ok, const std::string& error, const json& reply);
  // Records a command (from MQTT or from device input) as a `command` event.
  void record_command(const json& id, const std::string& cmd, const std::string& source, const json& args, bool ok,
                      const std::string& error);
  // The station's own commands (the production commands are Production's table): the one list of them.
  using CommandHandler = void (Station::*)(const Publisher::Command& c, const json& id, const std::string& cmd,
                                           const json& args);
  struct StationCommand {
    std::string_view name;
    CommandHandler run;
    std::string_view driver_command;  // what the device is asked for (Driver::start_command), for device commands
  };
  static std::span<const StationCommand> station_commands();
  static const StationCommand* find_station_command(std::string_view name);
  void device_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args);
  void status_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args);
  void apply(Outcome& outcome);      // appends its records, saves the context, publishes B/context
  void save_context();
  void arm_production_timer();
  void publish_context();
  json status_json(bool online) const;
  void on_reading(const DeviceConfig& device, const Reading& r);
  void on_scan(const DeviceConfig& device, const Scan& s);
  void on_pulse(const DeviceConfig& device, const Pulse& p);
  // Runs a production command that device input triggered (a scan, a pulse), records it as a `command` event with
  // the device as its source, and returns whether it was accepted.
  bool run_device_command(const std::string& device, const std::string& cmd, const json& args, wall_time ts);
  void feedback(const DeviceConfig& device, OutputPattern pattern);
  void save_counters();
  void on_device_state(const DeviceConfig& device, bool online, const std::string& error);
  void emit_event(const std::string& name, const json& fields);
  void on_publish_refused(Seq seq, const std::string& topic, int reason, const std::string& why);
  void flush_refused();
  void end_of_iteration();
  void try_commit();
  void buffer_alarm(const std::string& id, bool active, const std::string& message);
  void publish_states();
  void publish_status();
  void publish_recent(const std::string& device);
  std::string status_payload(bool online) const;
  std::string device_state_payload(const DeviceRunner& d) const;

  Config config_;
  EventLoop& loop_;
  StampInfo stamp_;
  Buffer buffer_;
  Production production_;
  Publisher publisher_;
  std::vector<std::unique_ptr<DeviceRunner>> devices_;
  std::unique_ptr<Outputs> outputs_;
  AlarmEngine alarms_;
  Notifier notifier_;
  Timer alarm_timer_;
  std::optional<mono_time> alarm_deadline_;   // what alarm_timer_ is armed for
  std::set<std::string> retained_clears_;     // cleared alarms whose retained message the broker may still hold
  std::map<std::string, std::int64_t> counters_;  // running pulse totals per device, kept in the buffer's state
  // Retained summaries for viewers (docs/web.md): the last hour of each reading device, and the latest batch record
  // (kept in the buffer's state with the record, published once committed).
  std::map<std::string, RecentSeries> recent_;
  std::string batch_last_;
  bool batch_last_unpublished_ = false;
  wall_time since_;
  Timer clock_check_, commit_retry_, status_refresh_, refused_flush_, refused_quiet_, production_timer_;
  // Readings change step accumulators (last stable weight, time in range) many times a second: those changes are
  // saved at most every context_save_interval (and at every transition and at shutdown), not on every commit.
  bool context_dirty_ = false;
  std::chrono::steady_clock::time_point context_saved_{};
  static constexpr std::chrono::seconds context_save_interval{10};
  // Replies wait for the commit that holds their command's effects: an "ok" is never sent for a change a crash
  // could still lose.
  std::vector<std::pair<Publisher::Command, std::string>> pending_replies_;
  std::string published_context_;  // the last B/context payload, so it is published only when it changes
  std::int64_t status_buffered_ = -1;  // "buffered" in the last published status
  bool commit_failing_ = false;
  bool stopping_ = false;
  // Records the broker refused and the publisher parked, reported as one publish.refused event per topic at most
  // every refused_report_interval.
  struct Refused {
    int reason = 0;
    std::string error;
    std::vector<Seq> seqs;
  };
  std::map<std::string, Refused> refused_pending_;
  std::chrono::steady_clock::time_point refused_reported_{};
  static constexpr std::chrono::seconds refused_report_interval{10};
  LogLimit events_refused_log_;  // the broker refuses B/events itself: logged, not recorded (it would feed itself)
  LogLimit scan_refused_log_;    // scans that are not valid (station_input.cpp)
  static constexpr std::chrono::milliseconds kCommitBackoffMin{250}, kCommitBackoffMax{4000};
  std::chrono::milliseconds commit_backoff_ = kCommitBackoffMin;
  std::chrono::steady_clock::time_point commit_retry_at_{};
  commands::RateLimit command_rate_{commands::kRate, commands::kBurst};
  std::uint64_t commands_limited_ = 0;  // refused by the rate limit since the last command.rate_limited event
  std::deque<std::pair<std::int64_t, std::string>> remembered_;  // (wall ms, state key), oldest first
  static constexpr std::size_t kRememberedReplies = 1000;
  static constexpr std::chrono::hours kRememberFor{24};
  static constexpr const char* kRememberedPrefix = "cmd-id/";
  std::uint64_t commands_dropped_ = 0;   // incoming messages the MQTT link dropped (its queue full) since the last event
};

}  // namespace tally
