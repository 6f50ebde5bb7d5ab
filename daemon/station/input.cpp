// What device input becomes: readings are stamped and observed by the production context; scans become scan
// records and, when they mean something, the production command they drive; pulses count units, rejects or a
// running total. The framework does this, not the drivers, so every scanner and counter behaves the same.
#include <spdlog/spdlog.h>

#include "log/log_escape.hpp"
#include "station/station.hpp"

namespace tally {

void Station::on_reading(const DeviceConfig& device, const Reading& r) {
  buffer_.append(stamp_reading(stamp_, device.name, r, production_.context()));
  if (r.value) {  // B/devices/<device>/recent, refreshed when a bucket completes (docs/web.md)
    RecentSeries& series = recent_[device.name];
    series.describe(r.quantity, r.unit);
    if (series.add(r.ts, *r.value)) publish_recent(device.name);
  }
  if (production_.observe(device.name, r)) {
    context_dirty_ = true;
    if (std::chrono::steady_clock::now() - context_saved_ >= context_save_interval) save_context();
  }
  alarm_transitions(alarms_.reading(device.name, r, Instant::now()));
}

void Station::on_scan(const DeviceConfig& device, const Scan& s) {
  // What the scan means is decided by scan::interpret (daemon/scan/, pure and tested there): GS1 and check digits,
  // then [[scan_rules]] (first match wins), then the fallbacks of shared/PRODUCT.md. Here it is only applied: the
  // record first (it precedes the command's own records in seq order), then the command, then the feedback.
  const StationContext& ctx = production_.context();
  const scan::ScanSituation situation{ctx.mode, !ctx.work_order.empty(), production_.weighing()};
  scan::ScanDecision d = scan::interpret(s, config_.scan_rules, situation);
  d.record["device"] = device.name;
  buffer_.append(make_record(RecordKind::scan, "scans", stamp_, s.ts, d.record, ctx));
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

void Station::on_pulse(const DeviceConfig& device, const Pulse& p) {
  std::int64_t& total = counters_[device.name];
  total += p.count;
  switch (p.kind) {
    case PulseKind::units:
      // A counter with `feedback` signals whether each unit was taken (refused: no work order active).
      for (std::int64_t i = 0; i < p.count; ++i)
        feedback(device, run_device_command(device.name, "unit.add", json::object(), p.ts) ? OutputPattern::accepted : OutputPattern::refused);
      break;
    case PulseKind::rejects:
      for (std::int64_t i = 0; i < p.count; ++i)
        feedback(device, run_device_command(device.name, "unit.reject", json::object(), p.ts) ? OutputPattern::accepted : OutputPattern::refused);
      break;
    case PulseKind::pulses:
      on_reading(device, Reading::measured("pulses", static_cast<double>(total), "", p.ts));
      break;
  }
  save_counters();
}

bool Station::run_device_command(const std::string& device, const std::string& cmd, const json& args, wall_time ts) {
  Outcome o = production_.handle(cmd, args, device, ts);
  apply(o);
  record_command(json(nullptr), cmd, device, args, o.ok, o.error);
  return o.ok;
}

void Station::feedback(const DeviceConfig& device, OutputPattern pattern) {
  if (device.feedback.empty() || !outputs_) return;
  outputs_->play(device.feedback, pattern);
}

void Station::save_counters() {
  json totals = json::object();
  for (const auto& [device, total] : counters_) totals[device] = total;
  buffer_.put_state("counters", to_text(totals));
}

}  // namespace tally
