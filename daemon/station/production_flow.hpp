#pragma once
// Production commands and the passing of time run against the Production state machine, and what they change
// applied: the records appended (the batch record also kept for B/batches/last), the context saved, the step's
// alarms, B/context, and the timer for the next deadline (downtime). The same path for a command from MQTT, a scan
// or a pulse (source "mqtt" or the device's name) and for the timer.
#include "loop/event_loop.hpp"
#include "production/production.hpp"
#include "station/journal.hpp"
#include "station/retained_state.hpp"
#include "station/saved_context.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class ProductionFlow {
 public:
  ProductionFlow(EventLoop& loop, Production& production, Journal& journal, SavedContext& saved_context,
                 StationAlarms& alarms, RetainedState& retained);

  // Runs a production command (Production::handles(cmd)) and applies its outcome; the caller replies or records it.
  Outcome run(const std::string& cmd, const json& args, const std::string& source, wall_time ts);
  void arm_timer();  // after a restore: the next deadline of the restored context

 private:
  void apply(const Outcome& outcome);

  Production& production_;
  Journal& journal_;
  SavedContext& saved_context_;
  StationAlarms& alarms_;
  RetainedState& retained_;
  Timer timer_;
};

}  // namespace tally
