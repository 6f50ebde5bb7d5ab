#pragma once
// The station: the wiring of the rooms and of its own pieces, and the lifecycle (start, reload, shutdown). What
// each piece does is in its own header:
//
//   InputRouter      what device input becomes: records, the production commands scans and pulses drive, device state
//   CommandDispatch  commands from the CommandIntake: rate limit, decode, remembered replies, the station's own table
//   ProductionFlow   production commands and ticks, their outcomes applied (records, context, step alarms)
//   StationAlarms    alarm transitions: records, retained B/alarms/<id>, outputs, notifications
//   RetainedState    B/status, B/context, B/devices/<device>/state and /recent, B/batches/last
//   CommitCycle      the commit at the end of each loop iteration, with back-off while it fails
//   RefusedRecords   records the broker refused: publish.refused events and alarm
//   Journal, SavedContext, RememberedReplies: what the pieces share (records, the saved context, command ids)
//
//   driver --Reading--> DeviceRunner --(deadband)--> InputRouter::reading --stamp--> Journal --> Buffer::append
//   B/cmd --> CommandIntake --> CommandDispatch::command --> ProductionFlow::run or the station's own table
//   end of loop iteration: CommitCycle::commit --> replies, B/batches/last --> Publisher::pump --QoS 1--> broker
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "buffer/buffer.hpp"
#include "config/config.hpp"
#include "devices/device_runner.hpp"
#include "loop/event_loop.hpp"
#include "mqtt/command_intake.hpp"
#include "mqtt/publisher.hpp"
#include "outputs/outputs.hpp"
#include "production/production.hpp"
#include "record/stamp.hpp"
#include "station/command_dispatch.hpp"
#include "station/commit_cycle.hpp"
#include "station/input_router.hpp"
#include "station/journal.hpp"
#include "station/production_flow.hpp"
#include "station/refused_records.hpp"
#include "station/retained_state.hpp"
#include "station/saved_context.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class Station {
 public:
  Station(Config config, EventLoop& loop);  // opens the buffer (throws buffer_error) and builds the publisher
  ~Station();

  void start();  // daemon.started, open devices, connect
  // SIGHUP: loads the file again; an invalid one is logged and the running configuration kept. Devices are
  // replaced; the buffer and the connection stay (changes to [station], [mqtt], [buffer] need a restart).
  bool reload();
  // SIGTERM/SIGINT: stop reading devices, record daemon.stopped, commit, give the publisher up to `drain` to
  // deliver, publish the offline status and disconnect.
  // Returns false when the process must leave with std::_Exit (see Publisher::stop).
  bool shutdown(const std::string& reason, std::chrono::milliseconds drain);

 private:
  void record_recovery(const Recovery& r);  // buffer.corrupt: the event and the alarm
  void start_devices();
  void republish();  // every retained topic, on each (re)connect
  void end_of_iteration();

  Config config_;
  EventLoop& loop_;
  StampInfo stamp_;
  Buffer buffer_;
  Production production_;
  Publisher publisher_;
  CommandIntake intake_;
  std::unique_ptr<Outputs> outputs_;  // null when none are configured
  Journal journal_;
  SavedContext saved_context_;
  RetainedState retained_;
  StationAlarms alarms_;
  ProductionFlow production_flow_;
  std::vector<std::unique_ptr<DeviceRunner>> devices_;
  InputRouter input_;
  CommandDispatch commands_;
  RefusedRecords refused_;
  CommitCycle commit_;
  Timer clock_check_, status_refresh_;
};

}  // namespace tally
