#pragma once
// The station's alarms (see alarms/engine.hpp and docs/alarms.md). Every transition the engine reports becomes an
// alarm.raised / alarm.acknowledged / alarm.cleared record on B/events, the retained B/alarms/<id> (deleted when
// cleared), the outputs its rule names, a push notification per [[notify]] target, and an entry in the running
// step's part of the batch record. The engine's state and the notification queue are saved in the buffer's state
// table with the same commit as the records that describe them, so a restart or a kill -9 resumes exactly where
// the stream says: an active alarm stays active and is never raised twice.
#include <optional>
#include <set>
#include <string>

#include "alarms/engine.hpp"
#include "buffer/buffer.hpp"
#include "config/config.hpp"
#include "loop/event_loop.hpp"
#include "mqtt/publisher.hpp"
#include "notify/notifier.hpp"
#include "outputs/outputs.hpp"
#include "production/production.hpp"
#include "station/journal.hpp"
#include "station/saved_context.hpp"

namespace tally {

class StationAlarms {
 public:
  // `config` is the station's, reloaded in place (reconfigure()); `outputs` may be null (none configured).
  StationAlarms(const Config& config, EventLoop& loop, Buffer& buffer, Journal& journal, Publisher& publisher,
                Production& production, SavedContext& saved_context, Outputs* outputs);

  void restore();      // at start: the saved engine, the retained messages still to delete, the notification queue
  void reconfigure();  // after a reload: [[notify]] targets, rules and watched devices

  // What the rest of the station reports.
  void reading(const std::string& device, const Reading& r);
  void device_state(const std::string& device, bool online, const std::string& error);
  void production_changed(const Outcome& outcome);  // step alarms; a weigh step ended outside its tolerance
  void check_buffer_usage();                        // buffer.high, against max_mb
  // System alarms (buffer.disk, buffer.corrupt, publish.refused). Raising an active alarm only updates its value.
  void raise(const SystemAlarm& alarm);
  void clear(const std::string& id, const std::string& reason);
  // alarm.ack: the error text when there is no such active alarm or it is already acknowledged, else "".
  std::string acknowledge(const std::string& alarm, const std::string& by);

  void republish();  // every B/alarms/<id>, and the deletions the broker may have missed

  const AlarmEngine& engine() const { return engine_; }

 private:
  void configure();
  void apply(AlarmEngine::Transitions transitions);
  void save();
  void arm_timer();
  std::string payload(const Alarm& a) const;

  const Config& config_;
  Buffer& buffer_;
  Journal& journal_;
  Publisher& publisher_;
  Production& production_;
  SavedContext& saved_context_;
  Outputs* outputs_;
  AlarmEngine engine_;
  Notifier notifier_;
  Timer timer_;
  std::optional<mono_time> deadline_;   // what timer_ is armed for
  std::set<std::string> retained_clears_;  // cleared alarms whose retained message the broker may still hold
};

}  // namespace tally
