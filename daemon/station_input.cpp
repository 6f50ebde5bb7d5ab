// What device input becomes: readings are stamped and observed by the production context; scans become scan
// records and, when they mean something, the production command they drive; pulses count units, rejects or a
// running total. The framework does this, not the drivers, so every scanner and counter behaves the same.
#include <spdlog/spdlog.h>

#include "station.hpp"

namespace tally {

void Station::on_reading(const DeviceConfig& device, const Reading& r) {
  buffer_.append(stamp_reading(stamp_, device.name, r, production_.context()));
  if (production_.observe(device.name, r)) {
    context_dirty_ = true;
    if (std::chrono::steady_clock::now() - context_saved_ >= context_save_interval) save_context();
  }
  alarm_transitions(alarms_.reading(device.name, r, Instant::now()));
}

void Station::on_scan(const DeviceConfig& device, const Scan& s) {
  // What an unmatched scan means (shared/PRODUCT.md, "What a station does with input"): a part serial while a work
  // order is active, an ingredient lot during a weigh step, else it is only recorded.
  std::string cmd;
  json args = json::object();
  const StationContext& ctx = production_.context();
  if (ctx.mode == Mode::discrete && !ctx.work_order.empty()) {
    cmd = "unit.add";
    args["serial"] = s.code;
  } else if (ctx.mode == Mode::process && production_.weighing()) {
    cmd = "lot.record";
    args["lot"] = s.code;
  }
  json fields{{"device", device.name}, {"code", s.code}};
  if (!s.symbology.empty()) fields["symbology"] = s.symbology;
  fields["valid"] = true;
  if (!cmd.empty()) fields["action"] = cmd;
  buffer_.append(make_record(RecordKind::scan, "scans", stamp_, s.ts, fields, ctx));
  const bool accepted = cmd.empty() || run_device_command(device.name, cmd, args, s.ts);
  feedback(device, accepted);
}

void Station::on_pulse(const DeviceConfig& device, const Pulse& p) {
  std::int64_t& total = counters_[device.name];
  total += p.count;
  switch (p.kind) {
    case PulseKind::units:
      for (std::int64_t i = 0; i < p.count; ++i) run_device_command(device.name, "unit.add", json::object(), p.ts);
      break;
    case PulseKind::rejects:
      for (std::int64_t i = 0; i < p.count; ++i) run_device_command(device.name, "unit.reject", json::object(), p.ts);
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

void Station::feedback(const DeviceConfig& device, bool accepted) {
  if (device.feedback.empty() || !outputs_) return;
  outputs_->play(device.feedback, accepted ? OutputPattern::accepted : OutputPattern::refused);
}

void Station::save_counters() {
  json totals = json::object();
  for (const auto& [device, total] : counters_) totals[device] = total;
  buffer_.put_state("counters", to_text(totals));
}

}  // namespace tally
