// The alarm engine (see engine.hpp): evaluation, transitions, persistence.
#include "alarms/engine.hpp"

#include <cmath>
#include <cstdio>

namespace tally {

using namespace std::chrono;

std::optional<Severity> severity_from(const std::string& name) {
  if (name == "info") return Severity::info;
  if (name == "warning") return Severity::warning;
  if (name == "critical") return Severity::critical;
  return std::nullopt;
}

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string with_unit(double v, const std::string& unit) { return unit.empty() ? number(v) : number(v) + " " + unit; }

mono_time after(mono_time t, double seconds) {
  return t + duration_cast<steady_clock::duration>(duration<double>(seconds));
}

bool finite_value(const Reading& r) { return r.fault.empty() && r.value && std::isfinite(*r.value); }

json context_json(const StationContext& c) {
  return {{"mode", c.mode == Mode::process ? "process" : "discrete"}, {"operator", c.operator_id},
          {"batch", c.batch}, {"recipe", c.recipe}, {"step", c.step}, {"step_no", c.step_no},
          {"work_order", c.work_order}, {"unit_no", c.unit_no}, {"serial", c.serial}};
}

StationContext context_from(const json& j) {
  StationContext c;
  c.mode = j.value("mode", "process") == "discrete" ? Mode::discrete : Mode::process;
  c.operator_id = j.value("operator", "");
  c.batch = j.value("batch", "");
  c.recipe = j.value("recipe", "");
  c.step = j.value("step", "");
  c.step_no = j.value("step_no", 0);
  c.work_order = j.value("work_order", "");
  c.unit_no = j.value("unit_no", j.value("unit", std::int64_t{0}));  // "unit": saved before unit_no
  c.serial = j.value("serial", "");
  return c;
}

std::int64_t to_ms(wall_time t) { return duration_cast<milliseconds>(t.time_since_epoch()).count(); }

}  // namespace

AlarmEngine::AlarmEngine(const StationContext& context) : context_(context) {}

AlarmEngine::Transitions AlarmEngine::raise_alarm(Alarm a, Instant now) {
  Transitions out;
  if (alarms_.count(a.id)) return out;  // an active alarm is never raised twice
  a.state = AlarmState::active;
  a.since = now.wall;
  a.context = context_;
  alarms_[a.id] = a;
  out.push_back({AlarmTransition::Kind::raised, a, "", now.wall});
  return out;
}

void AlarmEngine::clear_alarm(Transitions& out, const std::string& id, const std::string& reason, Instant now) {
  const auto it = alarms_.find(id);
  if (it == alarms_.end()) return;
  out.push_back({AlarmTransition::Kind::cleared, it->second, reason, now.wall});
  clearing_.erase(id);
  alarms_.erase(it);
}

AlarmEngine::Transitions AlarmEngine::configure(std::vector<AlarmRule> rules, std::vector<WatchedDevice> devices,
                                                Instant now) {
  rules_ = std::move(rules);
  devices_ = std::move(devices);
  Transitions out;
  std::vector<std::string> gone;
  for (const auto& [id, a] : alarms_) {
    bool known = true;
    if (a.kind == "rule") {
      known = false;
      for (const auto& r : rules_) known = known || (r.id == id && r.device == a.device);
    } else if (a.kind == "fault" || a.kind == "offline" || a.kind == "stale") {
      known = false;
      for (const auto& d : devices_) known = known || (d.name == a.device && (a.kind != "stale" || d.stale_s > 0));
    }
    if (!known) gone.push_back(id);
  }
  for (const auto& id : gone) clear_alarm(out, id, "no longer configured", now);
  std::erase_if(pending_, [](const auto& p) { return p.first.find('.') == std::string::npos; });  // rule on-delays
  // Staleness is measured from now: a reload or a restart does not make a device stale at once.
  for (auto& [name, seen] : seen_) seen.last = now.mono;
  return out;
}

Alarm AlarmEngine::rule_alarm(const AlarmRule& rule, const Pending& p) const {
  Alarm a;
  a.id = rule.id;
  a.kind = "rule";
  a.severity = rule.severity;
  a.device = rule.device;
  a.value = p.value;
  a.limit = p.limit;
  a.unit = p.unit;
  a.output = rule.output;
  const bool high = rule.above && p.value > *rule.above;
  a.message = rule.device + " " + with_unit(p.value, p.unit) + (high ? " above " : " below ") +
              with_unit(p.limit, p.unit) + (rule.for_s > 0 ? " for " + number(rule.for_s) + " s" : "");
  return a;
}

Alarm AlarmEngine::range_alarm(const Pending& p) const {
  const RecipeStep& s = step_->step;
  Alarm a;
  a.id = s.name + ".range";
  a.kind = "range";
  a.severity = Severity::warning;
  a.device = s.device;
  a.value = p.value;
  a.limit = p.limit;
  a.unit = p.unit;
  a.step_key = step_->key;
  a.batch = step_->batch;
  a.message = s.device + " " + with_unit(p.value, p.unit) + (p.value > s.max ? " above " : " below ") +
              with_unit(p.limit, p.unit) + " in step " + s.name + " (range " + number(s.min) + ".." +
              number(s.max) + ") for " + number(s.alarm_after_s) + " s";
  return a;
}

void AlarmEngine::evaluate_rule(Transitions& out, const AlarmRule& rule, std::optional<double> value,
                                const std::string& unit, Instant now) {
  if (!value) {  // a fault or no value: the on- and off-delays start again with the next measurement
    pending_.erase(rule.id);
    clearing_.erase(rule.id);
    return;
  }
  const double v = *value;
  if (auto it = alarms_.find(rule.id); it != alarms_.end()) {
    it->second.value = v;  // the latest value, for the retained payload and the cleared record
    const bool back = (!rule.above || v < *rule.above - rule.deadband) && (!rule.below || v > *rule.below + rule.deadband);
    if (!back) {
      clearing_.erase(rule.id);
      return;
    }
    const mono_time since = clearing_.try_emplace(rule.id, now.mono).first->second;
    if (now.mono >= after(since, rule.clear_after_s)) {
      clearing_.erase(rule.id);
      clear_alarm(out, rule.id, "back within limits", now);
    }
    return;
  }
  std::optional<double> limit;
  if (rule.above && v > *rule.above) limit = *rule.above;
  if (rule.below && v < *rule.below) limit = *rule.below;
  if (!limit) {
    pending_.erase(rule.id);
    return;
  }
  auto [it, fresh] = pending_.try_emplace(rule.id, Pending{now.mono, v, *limit, unit});
  if (!fresh) {
    it->second.value = v;
    it->second.limit = *limit;
  }
  if (now.mono >= after(it->second.since, rule.for_s)) {
    const Pending p = it->second;
    pending_.erase(it);
    for (auto& t : raise_alarm(rule_alarm(rule, p), now)) out.push_back(std::move(t));
  }
}

void AlarmEngine::evaluate_range(Transitions& out, std::optional<double> value, const std::string& unit, Instant now) {
  const RecipeStep& s = step_->step;
  const std::string id = s.name + ".range";
  if (!value) {
    pending_.erase(id);
    return;
  }
  const double v = *value;
  const bool in_range = v >= s.min && v <= s.max;
  if (auto it = alarms_.find(id); it != alarms_.end()) {
    it->second.value = v;
    if (in_range) clear_alarm(out, id, "back in range", now);
    return;
  }
  if (in_range) {
    pending_.erase(id);
    return;
  }
  const double limit = v > s.max ? s.max : s.min;
  auto [it, fresh] = pending_.try_emplace(id, Pending{now.mono, v, limit, unit});
  if (!fresh) {
    it->second.value = v;
    it->second.limit = limit;
  }
  if (now.mono >= after(it->second.since, s.alarm_after_s)) {
    const Pending p = it->second;
    pending_.erase(it);
    for (auto& t : raise_alarm(range_alarm(p), now)) out.push_back(std::move(t));
  }
}

AlarmEngine::Transitions AlarmEngine::reading(const std::string& device, const Reading& r, Instant now) {
  Transitions out;
  DeviceSeen& seen = seen_[device];
  seen.last = now.mono;
  seen.online = true;
  clear_alarm(out, device + ".stale", "reading received", now);
  const std::optional<double> value = finite_value(r) ? r.value : std::nullopt;
  if (!r.fault.empty()) {
    Alarm a;
    a.id = device + ".fault";
    a.kind = "fault";
    a.severity = Severity::warning;
    a.device = device;
    a.message = device + " reports a sensor fault: " + r.fault;
    for (auto& t : raise_alarm(a, now)) out.push_back(std::move(t));
  } else if (value) {
    clear_alarm(out, device + ".fault", "valid reading", now);
  }
  for (const auto& rule : rules_)
    if (rule.device == device) evaluate_rule(out, rule, value, r.unit, now);
  if (step_ && step_->step.kind == StepKind::hold && step_->step.device == device)
    evaluate_range(out, value, r.unit, now);
  return out;
}

AlarmEngine::Transitions AlarmEngine::device_state(const std::string& device, bool online, const std::string& error,
                                                   Instant now) {
  Transitions out;
  DeviceSeen& seen = seen_[device];
  seen.online = online;
  seen.last = now.mono;  // staleness counts from the moment it (re)opened
  if (online) {
    clear_alarm(out, device + ".offline", "device online", now);
    return out;
  }
  // What the device said before it went is no longer known to hold: on-delays start again with its next reading.
  for (const auto& rule : rules_)
    if (rule.device == device) pending_.erase(rule.id);
  if (step_) pending_.erase(step_->step.name + ".range");
  Alarm a;
  a.id = device + ".offline";
  a.kind = "offline";
  a.severity = Severity::warning;
  a.device = device;
  a.message = device + " is offline" + (error.empty() ? "" : ": " + error);
  return raise_alarm(a, now);
}

AlarmEngine::Transitions AlarmEngine::step(const std::optional<StepRules>& rules, Instant now) {
  Transitions out;
  const std::string key = rules ? rules->key : "";
  const std::string batch = rules ? rules->batch : "";
  if (key != step_key_) {
    std::vector<std::string> ended;
    for (const auto& [id, a] : alarms_)
      if (!a.step_key.empty() && a.step_key != key) ended.push_back(id);
    for (const auto& id : ended) clear_alarm(out, id, "step ended", now);
    std::vector<std::string> batch_over;
    for (const auto& [id, a] : alarms_)
      if (a.kind == "tolerance" && a.batch != batch) batch_over.push_back(id);
    for (const auto& id : batch_over) clear_alarm(out, id, "batch ended", now);
    if (step_) pending_.erase(step_->step.name + ".range");
    step_key_ = key;
  }
  step_ = rules;
  return out;
}

AlarmEngine::Transitions AlarmEngine::tolerance(const RecipeStep& step, const std::string& batch,
                                                std::optional<double> amount, const std::string& unit, Instant now) {
  Alarm a;
  a.id = step.name + ".tolerance";
  a.kind = "tolerance";
  a.severity = Severity::warning;
  a.device = step.device;
  a.value = amount;
  a.unit = unit;
  a.batch = batch;
  if (amount) {
    a.limit = *amount > step.target ? step.target + step.tolerance : step.target - step.tolerance;
    a.message = "step " + step.name + " weighed " + with_unit(*amount, unit) + ", outside " + number(step.target) +
                " ± " + number(step.tolerance);
  } else {
    a.message = "step " + step.name + " completed without a weight (target " + number(step.target) + " ± " +
                number(step.tolerance) + ")";
  }
  return raise_alarm(a, now);
}

AlarmEngine::Transitions AlarmEngine::buffer_usage(std::uint64_t used, std::uint64_t max, Instant now) {
  Transitions out;
  if (max == 0) return out;
  const double ratio = static_cast<double>(used) / static_cast<double>(max);
  const double percent = std::round(ratio * 1000) / 10;
  if (auto it = alarms_.find("buffer.high"); it != alarms_.end()) {
    it->second.value = percent;
    if (ratio < buffer_clear_ratio) clear_alarm(out, "buffer.high", "buffer below 75 %", now);
    return out;
  }
  if (ratio <= buffer_high_ratio) return out;
  Alarm a;
  a.id = "buffer.high";
  a.kind = "buffer";
  a.severity = Severity::warning;
  a.value = percent;
  a.limit = buffer_high_ratio * 100;
  a.unit = "%";
  a.message = "buffer " + number(percent) + " % full (" + number(std::round(used / 1048576.0 * 10) / 10) + " of " +
              number(std::round(max / 1048576.0 * 10) / 10) + " MB); the oldest readings are dropped at 100 %";
  return raise_alarm(a, now);
}

AlarmEngine::Transitions AlarmEngine::raise(const SystemAlarm& s, Instant now) {
  if (auto it = alarms_.find(s.id); it != alarms_.end()) {
    if (s.value) it->second.value = s.value;
    return {};
  }
  Alarm a;
  a.id = s.id;
  a.kind = "system";
  a.severity = s.severity;
  a.message = s.message;
  a.device = s.device;
  a.value = s.value;
  a.limit = s.limit;
  return raise_alarm(a, now);
}

AlarmEngine::Transitions AlarmEngine::clear(const std::string& id, const std::string& reason, Instant now) {
  Transitions out;
  clear_alarm(out, id, reason, now);
  return out;
}

AlarmEngine::Transitions AlarmEngine::acknowledge(const std::string& id, const std::string& by, Instant now,
                                                  std::string& error) {
  const auto it = alarms_.find(id);
  if (it == alarms_.end()) {
    error = "no active alarm \"" + id + "\"";
    return {};
  }
  if (it->second.state == AlarmState::acknowledged) {
    error = "alarm \"" + id + "\" is already acknowledged" +
            (it->second.acknowledged_by.empty() ? "" : " by " + it->second.acknowledged_by);
    return {};
  }
  it->second.state = AlarmState::acknowledged;
  it->second.acknowledged_by = by;
  return {{AlarmTransition::Kind::acknowledged, it->second, "", now.wall}};
}

void AlarmEngine::check_pending(Transitions& out, Instant now) {
  // On-delays whose time has come while the value stayed where it was (a device behind a deadband may not send
  // another reading for a long while).
  std::vector<std::string> due;
  for (const auto& [id, p] : pending_) {
    for (const auto& rule : rules_)
      if (rule.id == id && now.mono >= after(p.since, rule.for_s)) due.push_back(id);
    if (step_ && id == step_->step.name + ".range" && now.mono >= after(p.since, step_->step.alarm_after_s))
      due.push_back(id);
  }
  // Off-delays whose time has come while the value stayed back.
  std::vector<std::string> back;
  for (const auto& [id, since] : clearing_)
    for (const auto& rule : rules_)
      if (rule.id == id && now.mono >= after(since, rule.clear_after_s)) back.push_back(id);
  for (const auto& id : back) {
    clearing_.erase(id);
    clear_alarm(out, id, "back within limits", now);
  }
  for (const auto& id : due) {
    const Pending p = pending_.at(id);
    pending_.erase(id);
    if (step_ && id == step_->step.name + ".range") {
      for (auto& t : raise_alarm(range_alarm(p), now)) out.push_back(std::move(t));
      continue;
    }
    for (const auto& rule : rules_)
      if (rule.id == id)
        for (auto& t : raise_alarm(rule_alarm(rule, p), now)) out.push_back(std::move(t));
  }
}

AlarmEngine::Transitions AlarmEngine::tick(Instant now) {
  Transitions out;
  check_pending(out, now);
  for (const auto& d : devices_) {
    if (d.stale_s <= 0) continue;
    DeviceSeen& seen = seen_[d.name];
    if (!seen.online || !seen.last || now.mono < after(*seen.last, d.stale_s)) continue;
    Alarm a;
    a.id = d.name + ".stale";
    a.kind = "stale";
    a.severity = Severity::warning;
    a.device = d.name;
    a.value = std::round(duration<double>(now.mono - *seen.last).count() * 10) / 10;
    a.limit = d.stale_s;
    a.unit = "s";
    a.message = d.name + " sent no reading for " + number(d.stale_s) + " s";
    for (auto& t : raise_alarm(a, now)) out.push_back(std::move(t));
  }
  if (step_ && step_->step.max_s) {
    const double elapsed = duration<double>(now.mono - step_->started).count();
    if (elapsed >= *step_->step.max_s) {
      Alarm a;
      a.id = step_->step.name + ".overrun";
      a.kind = "overrun";
      a.severity = Severity::warning;
      a.device = step_->step.device;
      a.value = std::round(elapsed);
      a.limit = *step_->step.max_s;
      a.unit = "s";
      a.step_key = step_->key;
      a.batch = step_->batch;
      a.message = "step " + step_->step.name + " has run longer than " + number(*step_->step.max_s) + " s";
      for (auto& t : raise_alarm(a, now)) out.push_back(std::move(t));
    }
  }
  return out;
}

std::optional<mono_time> AlarmEngine::next_deadline() const {
  std::optional<mono_time> next;
  const auto consider = [&](mono_time t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, p] : pending_) {
    for (const auto& rule : rules_)
      if (rule.id == id) consider(after(p.since, rule.for_s));
    if (step_ && id == step_->step.name + ".range") consider(after(p.since, step_->step.alarm_after_s));
  }
  for (const auto& [id, since] : clearing_)
    for (const auto& rule : rules_)
      if (rule.id == id) consider(after(since, rule.clear_after_s));
  for (const auto& d : devices_) {
    if (d.stale_s <= 0 || alarms_.count(d.name + ".stale")) continue;
    const auto it = seen_.find(d.name);
    if (it != seen_.end() && it->second.online && it->second.last) consider(after(*it->second.last, d.stale_s));
  }
  if (step_ && step_->step.max_s && !alarms_.count(step_->step.name + ".overrun"))
    consider(after(step_->started, *step_->step.max_s));
  return next;
}

bool AlarmEngine::output_wanted(const std::string& output) const {
  for (const auto& [id, a] : alarms_)
    if (a.output == output && a.state == AlarmState::active) return true;
  return false;
}

std::string AlarmEngine::save() const {
  json list = json::array();
  for (const auto& [id, a] : alarms_) {
    json j{{"id", a.id}, {"kind", a.kind}, {"state", a.state == AlarmState::active ? "active" : "acknowledged"},
           {"severity", to_string(a.severity)}, {"message", a.message}, {"device", a.device}, {"unit", a.unit},
           {"since", to_ms(a.since)}, {"acknowledged_by", a.acknowledged_by}, {"output", a.output},
           {"step_key", a.step_key}, {"batch", a.batch}, {"context", context_json(a.context)}};
    if (a.value) j["value"] = *a.value;
    if (a.limit) j["limit"] = *a.limit;
    list.push_back(std::move(j));
  }
  return to_text(json{{"version", 1}, {"step_key", step_key_}, {"alarms", list}});
}

std::optional<std::string> AlarmEngine::restore(const std::string& document) {
  try {
    const json doc = json::parse(document);
    std::map<std::string, Alarm> restored;
    for (const auto& j : doc.at("alarms")) {
      Alarm a;
      a.id = j.at("id");
      a.kind = j.at("kind");
      a.state = j.value("state", "active") == "acknowledged" ? AlarmState::acknowledged : AlarmState::active;
      a.severity = severity_from(j.value("severity", "warning")).value_or(Severity::warning);
      a.message = j.value("message", "");
      a.device = j.value("device", "");
      a.unit = j.value("unit", "");
      a.since = wall_time(milliseconds(j.value("since", std::int64_t{0})));
      a.acknowledged_by = j.value("acknowledged_by", "");
      a.output = j.value("output", "");
      a.step_key = j.value("step_key", "");
      a.batch = j.value("batch", "");
      if (j.contains("context")) a.context = context_from(j["context"]);
      if (j.contains("value")) a.value = j["value"].get<double>();
      if (j.contains("limit")) a.limit = j["limit"].get<double>();
      restored[a.id] = std::move(a);
    }
    alarms_ = std::move(restored);
    step_key_ = doc.value("step_key", "");
  } catch (const std::exception& e) {
    alarms_.clear();
    return std::string("the saved alarms could not be read (") + e.what() + "): starting without active alarms";
  }
  return std::nullopt;
}

}  // namespace tally
