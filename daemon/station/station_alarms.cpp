#include "station/station_alarms.hpp"

#include <spdlog/spdlog.h>

#include "alarms/hold_outputs.hpp"
#include "buffer/buffer_error.hpp"

namespace tally {

namespace {

std::vector<WatchedDevice> watched(const std::vector<DeviceConfig>& devices) {
  std::vector<WatchedDevice> out;
  for (const auto& d : devices) out.push_back({d.name, d.stale_s});
  return out;
}

json alarm_fields(const Alarm& a) {
  json f{{"alarm", a.id}, {"state", a.state == AlarmState::active ? "active" : "acknowledged"},
         {"severity", to_string(a.severity)}, {"message", a.message}};
  if (!a.device.empty()) f["device"] = a.device;
  if (a.value) f["value"] = *a.value;
  if (a.limit) f["limit"] = *a.limit;
  if (!a.unit.empty()) f["unit"] = a.unit;
  f["since"] = format_ts(a.since);
  return f;
}

}  // namespace

StationAlarms::StationAlarms(const Config& config, EventLoop& loop, Buffer& buffer, Journal& journal,
                             Publisher& publisher, Production& production, SavedContext& saved_context,
                             Outputs* outputs)
    : config_(config),
      buffer_(buffer),
      journal_(journal),
      publisher_(publisher),
      production_(production),
      saved_context_(saved_context),
      outputs_(outputs),
      engine_(production.context()),
      notifier_(loop, [this] { buffer_.put_state("notify", notifier_.save()); }),
      timer_(loop, [this] {
        deadline_.reset();
        apply(engine_.tick(Instant::now()));
      }) {}

void StationAlarms::restore() {
  if (const auto saved = buffer_.get_state("alarms")) {
    if (const auto warning = engine_.restore(*saved)) spdlog::warn("alarms: {}", *warning);
  }
  if (const auto saved = buffer_.get_state("alarms.retained")) {
    const json ids = json::parse(*saved, nullptr, false);
    if (ids.is_array())
      for (const auto& id : ids)
        if (id.is_string()) retained_clears_.insert(id.get<std::string>());
  }
  // Restored first, then configured: notices of a target removed from the configuration are dropped (and said so).
  if (const auto saved = buffer_.get_state("notify")) notifier_.restore(*saved);
  notifier_.configure(config_.notify);
  for (const auto& [id, a] : engine_.alarms()) {
    spdlog::warn("alarm {} is still {} (since {}): {}", id, a.state == AlarmState::active ? "active" : "acknowledged",
                 format_ts(a.since), a.message);
    if (outputs_ && !a.output.empty()) outputs_->hold(a.output, id, a.state == AlarmState::active);
  }
  configure();
}

void StationAlarms::reconfigure() {
  notifier_.configure(config_.notify);
  configure();
}

void StationAlarms::configure() {
  const Instant now = Instant::now();
  apply(engine_.configure(config_.alarms, watched(config_.devices), now));
  apply(engine_.step(production_.step_rules(), now));
  for (const auto& rule : config_.alarms)
    if (!rule.output.empty() && (!outputs_ || !outputs_->has(rule.output)))
      spdlog::warn("alarms: rule {} names output \"{}\", which is not configured: nothing will sound", rule.id,
                   rule.output);
}

void StationAlarms::reading(const std::string& device, const Reading& r) {
  apply(engine_.reading(device, r, Instant::now()));
}

void StationAlarms::device_state(const std::string& device, bool online, const std::string& error) {
  apply(engine_.device_state(device, online, error, Instant::now()));
}

void StationAlarms::raise(const SystemAlarm& alarm) { apply(engine_.raise(alarm, Instant::now())); }

void StationAlarms::clear(const std::string& id, const std::string& reason) {
  apply(engine_.clear(id, reason, Instant::now()));
}

std::string StationAlarms::acknowledge(const std::string& alarm, const std::string& by) {
  std::string error;
  auto transitions = engine_.acknowledge(alarm, by, Instant::now(), error);
  if (error.empty()) apply(std::move(transitions));
  return error;
}

void StationAlarms::apply(AlarmEngine::Transitions transitions) {
  if (!transitions.empty()) {
    bool step_noted = false;
    for (const auto& t : transitions) {
      const Alarm& a = t.alarm;
      json fields{{"event", event_name(t.kind)}};
      fields.update(alarm_fields(a));
      if (t.kind == AlarmTransition::Kind::cleared) fields["state"] = "cleared";
      if (!a.acknowledged_by.empty()) fields["by"] = a.acknowledged_by;
      if (!t.reason.empty()) fields["reason"] = t.reason;
      // Stamped with where the station was when the alarm was raised: a range alarm cleared because its step ended
      // still names that step.
      const Seq seq = journal_.append(make_record(RecordKind::alarm, "events", journal_.stamp(), t.at, fields, a.context));
      const auto level = t.kind == AlarmTransition::Kind::raised ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "alarm {} {}: {}{}", a.id, event_name(t.kind) + 6, a.message,
                  t.reason.empty() ? "" : " (" + t.reason + ")");
      if (t.kind == AlarmTransition::Kind::cleared) {
        retained_clears_.insert(a.id);
        publisher_.clear_state("alarms/" + a.id);
        if (publisher_.connected()) retained_clears_.erase(a.id);
      } else {
        retained_clears_.erase(a.id);
        publisher_.publish_state("alarms/" + a.id, payload(a));
      }
      if (outputs_) hold_outputs(*outputs_, t);
      notifier_.enqueue(make_notice(t, config_.station.id, seq));
      // The batch record lists each step's alarms (a tolerance alarm is listed by the step it judged).
      if (t.kind == AlarmTransition::Kind::raised && a.kind != "tolerance" && production_.step_rules()) {
        json entry{{"alarm", a.id}, {"severity", to_string(a.severity)}, {"raised", format_ts(t.at)}};
        if (a.value) entry["value"] = *a.value;
        if (a.limit) entry["limit"] = *a.limit;
        production_.note_alarm(entry);
        step_noted = true;
      }
    }
    if (step_noted) saved_context_.save();
    save();
  }
  arm_timer();
}

void StationAlarms::save() {
  buffer_.put_state("alarms", engine_.save());
  json ids = json::array();
  for (const auto& id : retained_clears_) ids.push_back(id);
  buffer_.put_state("alarms.retained", to_text(ids));
  buffer_.put_state("notify", notifier_.save());
}

void StationAlarms::arm_timer() {
  const auto deadline = engine_.next_deadline();
  if (deadline == deadline_) return;  // readings arrive many times a second: no timerfd call for nothing
  deadline_ = deadline;
  if (!deadline) return timer_.disarm();
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  timer_.arm(std::max(wait + std::chrono::milliseconds(1), std::chrono::milliseconds(1)));
}

void StationAlarms::production_changed(const Outcome& outcome) {
  const Instant now = Instant::now();
  for (const auto& ended : outcome.steps_ended)
    if (ended.step.kind == StepKind::weigh && ended.record.value("within_tolerance", true) == false) {
      const json& amount = ended.record["amount"];
      apply(engine_.tolerance(ended.step, ended.batch,
                              amount.is_number() ? std::optional<double>(amount.get<double>()) : std::nullopt,
                              ended.record.value("unit", ""), now));
    }
  const auto rules = production_.step_rules();
  apply(engine_.step(rules, now));
  if (!rules) {  // the batch is over: the tolerance alarms of its steps have nothing left to be about
    std::vector<std::string> over;
    for (const auto& [id, a] : engine_.alarms())
      if (a.kind == "tolerance") over.push_back(id);
    for (const auto& id : over) apply(engine_.clear(id, "batch ended", now));
  }
}

void StationAlarms::check_buffer_usage() {
  std::uint64_t used = 0;
  try {
    used = buffer_.used_bytes();
  } catch (const buffer_error& e) {  // the file cannot be read: the commit path reports that
    spdlog::debug("buffer: usage not known: {}", e.what());
    return;
  }
  apply(engine_.buffer_usage(used, config_.buffer.max_bytes, Instant::now()));
}

std::string StationAlarms::payload(const Alarm& a) const {
  json p{{"id", a.id}};
  json f = alarm_fields(a);
  f.erase("alarm");
  p.update(f);
  if (!a.acknowledged_by.empty()) p["acknowledged_by"] = a.acknowledged_by;
  add_context(p, a.context);
  return to_text(p);
}

void StationAlarms::republish() {
  for (const auto& id : retained_clears_) publisher_.clear_state("alarms/" + id);
  if (!retained_clears_.empty()) {
    retained_clears_.clear();
    save();
  }
  for (const auto& [id, a] : engine_.alarms()) publisher_.publish_state("alarms/" + id, payload(a));
}

}  // namespace tally
