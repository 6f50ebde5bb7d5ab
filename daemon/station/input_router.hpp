#pragma once
// What device input becomes (the DeviceRunner's listener): readings are stamped and observed by the production
// context; scans become scan records and, when they mean something, the production command they drive; pulses
// count units, rejects or a running total; a device going online or offline is an event, an alarm input and its
// retained state. The framework does this, not the drivers, so every scanner and counter behaves the same.
#include <cstdint>
#include <map>
#include <string>

#include "buffer/buffer.hpp"
#include "config/config.hpp"
#include "devices/device_runner.hpp"
#include "log/log_limit.hpp"
#include "outputs/outputs.hpp"
#include "production/production.hpp"
#include "station/journal.hpp"
#include "station/production_flow.hpp"
#include "station/retained_state.hpp"
#include "station/saved_context.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class InputRouter final : public DeviceRunner::Listener {
 public:
  // `scan_rules` is the station's, reloaded in place; `outputs` may be null (none configured).
  InputRouter(const std::vector<scan::ScanRule>& scan_rules, Buffer& buffer, Journal& journal, Production& production,
              ProductionFlow& flow, SavedContext& saved_context, StationAlarms& alarms, RetainedState& retained,
              Outputs* outputs);

  void restore_counters();  // the running pulse totals, kept in the buffer's state across restarts

  void reading(const DeviceConfig& device, const Reading& r) override;
  void scan(const DeviceConfig& device, const Scan& s) override;
  void pulse(const DeviceConfig& device, const Pulse& p) override;
  void state_changed(const DeviceRunner& device) override;

 private:
  // Runs a production command that device input triggered, records it as a `command` event with the device as its
  // source, and returns whether it was accepted.
  bool run_device_command(const std::string& device, const std::string& cmd, const json& args, wall_time ts);
  void feedback(const DeviceConfig& device, OutputPattern pattern);
  void save_counters();

  const std::vector<scan::ScanRule>& scan_rules_;
  Buffer& buffer_;
  Journal& journal_;
  Production& production_;
  ProductionFlow& flow_;
  SavedContext& saved_context_;
  StationAlarms& alarms_;
  RetainedState& retained_;
  Outputs* outputs_;
  std::map<std::string, std::int64_t> counters_;  // running pulse totals per device
  LogLimit scan_refused_log_;                     // scans that are not valid
};

}  // namespace tally
