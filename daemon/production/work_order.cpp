// The production state machine: discrete mode: work orders, units, rejects, downtime.
#include "production/detail.hpp"

namespace tally {

using namespace production_detail;

Outcome Production::work_order_start(const json& args, wall_time now) {
  std::string error;
  const auto id = text(args, "work_order", error);
  if (!error.empty()) return refused(error);
  if (!id) return refused("work_order.start needs \"work_order\"");
  std::optional<std::int64_t> target;
  if (args.contains("target") && !args["target"].is_null()) {
    if (!args["target"].is_number_integer() || args["target"].get<std::int64_t>() < 1)
      return refused("\"target\" must be a whole number of units, 1 or more");
    target = args["target"].get<std::int64_t>();
  }
  if (wo_) return refused("work order " + wo_->id + " is active; end it with work_order.end first");
  wo_ = WorkOrder{*id, target, now, 0, 0, {}, false, now, std::nullopt, mono_now(), mono_now(), {}, ""};
  sync_context();
  Outcome out;
  json fields = json::object();
  if (target) fields["target"] = *target;
  out.records.push_back(event("work_order.started", fields, now));
  out.reply = {{"work_order", *id}};
  return out;
}

void Production::end_downtime(std::vector<Record>& out, wall_time now) {
  if (!wo_ || !wo_->downtime_since) return;
  out.push_back(event("downtime.ended",
                      {{"since", format_ts(*wo_->downtime_since)},
                       {"duration_s", seconds_between(wo_->downtime_since_mono, mono_now())}},
                      now));
  wo_->downtime_since.reset();
}

Outcome Production::work_order_end(wall_time now) {
  if (!wo_) return refused("no work order is active");
  Outcome out;
  end_downtime(out.records, now);
  const double duration_s = seconds_between(wo_->started_mono, mono_now());
  json fields{{"good", wo_->units - wo_->rejected}, {"rejected", wo_->rejected}, {"total", wo_->units},
              {"duration_s", duration_s},
              {"units_per_hour", duration_s > 0 ? std::round(wo_->units / (duration_s / 3600) * 10) / 10 : 0.0}};
  if (wo_->target) fields["target"] = *wo_->target;
  out.records.push_back(event("work_order.ended", fields, now));
  out.reply = fields;
  for (const auto& [serial, unit] : wo_->serials) serial_rows_.push_back({serial, std::nullopt});
  wo_.reset();
  sync_context();
  return out;
}

Outcome Production::unit_add(const json& args, const std::string& source, wall_time now) {
  std::string error;
  const auto serial = text(args, "serial", error);
  if (!error.empty()) return refused(error);
  if (!wo_) return refused("no work order is active");
  Outcome out;
  if (serial) {
    if (auto it = wo_->serials.find(*serial); it != wo_->serials.end()) {
      // Refused, but recorded: the owner wants to see the double scan.
      out = refused("serial " + *serial + " is already unit " + std::to_string(it->second) + " of work order " +
                    wo_->id);
      out.records.push_back(event("unit.duplicate", {{"serial", *serial}, {"first_unit", it->second}, {"source", source}}, now));
      return out;
    }
  }
  end_downtime(out.records, now);
  ++wo_->units;
  wo_->latest_rejected = false;
  wo_->last_activity = now;
  wo_->last_activity_mono = mono_now();
  wo_->latest_serial = serial.value_or("");
  if (serial) {
    wo_->serials.emplace(*serial, wo_->units);
    serial_rows_.push_back({*serial, wo_->units});
  }
  sync_context();
  json unit{{"work_order", wo_->id}, {"unit_no", wo_->units}};
  if (serial) unit["serial"] = *serial;
  unit["source"] = source;
  unit["status"] = "good";
  out.records.push_back(make_record(RecordKind::unit, "units", stamp_, now, unit, ctx_));
  out.reply = {{"unit_no", wo_->units}};
  if (wo_->target) out.reply["remaining"] = std::max<std::int64_t>(0, *wo_->target - (wo_->units - wo_->rejected));
  return out;
}

Outcome Production::unit_reject(const json& args, const std::string& source, wall_time now) {
  std::string error;
  const auto reason = text(args, "reason", error, kMaxText);
  if (!error.empty()) return refused(error);
  if (!wo_) return refused("no work order is active");
  if (wo_->units == 0) return refused("no unit to reject yet in work order " + wo_->id);
  if (wo_->latest_rejected) return refused("unit " + std::to_string(wo_->units) + " is already rejected");
  wo_->latest_rejected = true;
  ++wo_->rejected;
  wo_->last_activity = now;
  wo_->last_activity_mono = mono_now();
  Outcome out;
  json unit{{"work_order", wo_->id}, {"unit_no", wo_->units}};
  if (!ctx_.serial.empty()) unit["serial"] = ctx_.serial;
  unit["source"] = source;
  unit["status"] = "rejected";
  if (reason) unit["reason"] = *reason;
  out.records.push_back(make_record(RecordKind::unit, "units", stamp_, now, unit, ctx_));
  out.reply = {{"unit_no", wo_->units}, {"status", "rejected"}};
  return out;
}

std::vector<Production::SerialRow> Production::take_serial_rows() {
  std::vector<SerialRow> rows;
  rows.swap(serial_rows_);
  return rows;
}

void Production::restore_serials(const std::map<std::string, std::int64_t>& serials) {
  for (const auto& [serial, unit] : serials) {
    if (wo_) wo_->serials.emplace(serial, unit);
    else serial_rows_.push_back({serial, std::nullopt});
  }
}

std::vector<Record> Production::tick(wall_time now) {
  std::vector<Record> out;
  if (wo_ && !wo_->downtime_since && mono_now() >= wo_->last_activity_mono + seconds(downtime_s_)) {
    wo_->downtime_since = wo_->last_activity;
    wo_->downtime_since_mono = wo_->last_activity_mono;
    out.push_back(event("downtime.started", {{"since", format_ts(wo_->last_activity)}, {"after_s", downtime_s_}}, now));
  }
  return out;
}

std::optional<mono_time> Production::next_deadline() const {
  if (!wo_ || wo_->downtime_since) return std::nullopt;
  return wo_->last_activity_mono + seconds(downtime_s_);
}

}  // namespace tally
