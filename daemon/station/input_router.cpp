#include "station/input_router.hpp"

#include <spdlog/spdlog.h>

#include "log/log_escape.hpp"
#include "scan/scan_rules.hpp"

namespace tally {

InputRouter::InputRouter(const std::vector<scan::ScanRule>& scan_rules, Buffer& buffer, Journal& journal,
                         Production& production, ProductionFlow& flow, SavedContext& saved_context,
                         StationAlarms& alarms, RetainedState& retained, Outputs* outputs)
    : scan_rules_(scan_rules),
      buffer_(buffer),
      journal_(journal),
      production_(production),
      flow_(flow),
      saved_context_(saved_context),
      alarms_(alarms),
      retained_(retained),
      outputs_(outputs) {}

void InputRouter::restore_counters() {
  if (const auto saved = buffer_.get_state("counters")) {
    const json totals = json::parse(*saved, nullptr, false);
    if (totals.is_object())
      for (const auto& [device, total] : totals.items())
        if (total.is_number_integer()) counters_[device] = total.get<std::int64_t>();
  }
}

void InputRouter::reading(const DeviceConfig& device, const Reading& r) {
  journal_.append(stamp_reading(journal_.stamp(), device.name, r, production_.context()));
  retained_.add_to_recent(device.name, r);  // B/devices/<device>/recent, refreshed when a bucket completes
  if (production_.observe(device.name, r)) saved_context_.accumulators_changed();
  alarms_.reading(device.name, r);
}

void InputRouter::scan(const DeviceConfig& device, const Scan& s) {
  // What the scan means is decided by scan::interpret (daemon/scan/, pure and tested there): GS1 and check digits,
  // then [[scan_rules]] (first match wins), then the fallbacks of shared/PRODUCT.md. Here it is only applied: the
  // record first (it precedes the command's own records in seq order), then the command, then the feedback.
  const StationContext& ctx = production_.context();
  const scan::ScanSituation situation{ctx.mode, !ctx.work_order.empty(), production_.weighing()};
  scan::ScanDecision d = scan::interpret(s, scan_rules_, situation);
  d.record["device"] = device.name;
  journal_.append(make_record(RecordKind::scan, "scans", journal_.stamp(), s.ts, d.record, ctx));
  const bool command_ok = d.valid && !d.cmd.empty() && run_device_command(device.name, d.cmd, d.args, s.ts);
  if (!d.valid) {
    // A scanner typing garbage (or a FIFO flooded with it) must not flood the log: the scan records say it all.
    std::uint64_t suppressed = 0;
    if (scan_refused_log_.allow(suppressed))
      spdlog::info("{}: scan refused: {}{}", device.name, escape_for_log(d.record.value("reason", "")),
                   suppressed ? " (" + std::to_string(suppressed) + " refused scans not logged before this one)" : "");
  }
  feedback(device, scan::feedback_pattern(d, command_ok));
}

void InputRouter::pulse(const DeviceConfig& device, const Pulse& p) {
  std::int64_t& total = counters_[device.name];
  total += p.count;
  switch (p.kind) {
    case PulseKind::units:
      // A counter with `feedback` signals whether each unit was taken (refused: no work order active).
      for (std::int64_t i = 0; i < p.count; ++i)
        feedback(device, run_device_command(device.name, "unit.add", json::object(), p.ts) ? OutputPattern::accepted
                                                                                            : OutputPattern::refused);
      break;
    case PulseKind::rejects:
      for (std::int64_t i = 0; i < p.count; ++i)
        feedback(device, run_device_command(device.name, "unit.reject", json::object(), p.ts)
                             ? OutputPattern::accepted
                             : OutputPattern::refused);
      break;
    case PulseKind::pulses:
      reading(device, Reading::measured("pulses", static_cast<double>(total), "", p.ts));
      break;
  }
  save_counters();
}

void InputRouter::state_changed(const DeviceRunner& device) {
  const std::string& name = device.config().name;
  const bool online = device.online();
  if (!online) production_.device_offline(name);
  alarms_.device_state(name, online, online ? std::string() : device.error());
  json fields{{"device", name}};
  if (!online) fields["error"] = device.error();
  journal_.event(online ? "device.online" : "device.offline", fields);
  retained_.publish_device_state(device);
}

bool InputRouter::run_device_command(const std::string& device, const std::string& cmd, const json& args,
                                     wall_time ts) {
  const Outcome o = flow_.run(cmd, args, device, ts);
  journal_.command(json(nullptr), cmd, device, args, o.ok, o.error);
  return o.ok;
}

void InputRouter::feedback(const DeviceConfig& device, OutputPattern pattern) {
  if (device.feedback.empty() || !outputs_) return;
  outputs_->play(device.feedback, pattern);
}

void InputRouter::save_counters() {
  json totals = json::object();
  for (const auto& [device, total] : counters_) totals[device] = total;
  buffer_.put_state("counters", to_text(totals));
}

}  // namespace tally
