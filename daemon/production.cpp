#include "production.hpp"

#include <cmath>

namespace tally {

namespace {

using namespace std::chrono;

double seconds_between(wall_time a, wall_time b) { return std::round(duration<double>(b - a).count() * 1000) / 1000; }

Outcome refused(std::string why) {
  Outcome o;
  o.ok = false;
  o.error = std::move(why);
  return o;
}

// An optional identifier or text argument; a present one must be a non-empty string or a whole number (a serial
// or lot scanned as digits arrives as a JSON number from tools that type their arguments).
std::optional<std::string> text(const json& args, const char* key, std::string& error) {
  if (!args.contains(key) || args[key].is_null()) return std::nullopt;
  if (args[key].is_number_integer()) return args[key].dump();
  if (!args[key].is_string() || args[key].get<std::string>().empty()) {
    error = std::string("\"") + key + "\" must be a non-empty string or a whole number";
    return std::nullopt;
  }
  return args[key].get<std::string>();
}

std::string recipe_list(const std::vector<Recipe>& recipes) {
  std::string list;
  for (const auto& r : recipes) list += (list.empty() ? "" : ", ") + r.id;
  return list.empty() ? "none configured" : list;
}

}  // namespace

json step_targets(const RecipeStep& s) {
  json t{{"step", s.name}, {"kind", to_string(s.kind)}};
  if (!s.device.empty()) t["device"] = s.device;
  if (s.kind == StepKind::weigh) {
    t["target"] = s.target;
    t["tolerance"] = s.tolerance;
  } else if (s.kind == StepKind::hold) {
    t["min"] = s.min;
    t["max"] = s.max;
    t["hold_s"] = s.hold_s;
  }
  if (s.max_s) t["max_s"] = *s.max_s;
  return t;
}

Production::Production(Mode mode, int downtime_s, std::vector<Recipe> recipes, const StampInfo& stamp)
    : mode_(mode), downtime_s_(downtime_s), recipes_(std::move(recipes)), stamp_(stamp) {
  ctx_.mode = mode;
}

// The production commands: name, the mode they belong to, and what runs them. The one list of them.
std::span<const Production::Command> Production::commands() {
  using P = Production;
  static const Command table[] = {
      {"batch.start", Mode::process, [](P& p, const json& a, const std::string&, wall_time t) { return p.batch_start(a, t); }},
      {"step.next", Mode::process, [](P& p, const json&, const std::string&, wall_time t) { return p.step_next(t); }},
      {"batch.end", Mode::process, [](P& p, const json& a, const std::string&, wall_time t) { return p.batch_end(a, t); }},
      {"lot.record", Mode::process, [](P& p, const json& a, const std::string&, wall_time t) { return p.lot_record(a, t); }},
      {"work_order.start", Mode::discrete,
       [](P& p, const json& a, const std::string&, wall_time t) { return p.work_order_start(a, t); }},
      {"work_order.end", Mode::discrete, [](P& p, const json&, const std::string&, wall_time t) { return p.work_order_end(t); }},
      {"unit.add", Mode::discrete, [](P& p, const json& a, const std::string& s, wall_time t) { return p.unit_add(a, s, t); }},
      {"unit.reject", Mode::discrete,
       [](P& p, const json& a, const std::string& s, wall_time t) { return p.unit_reject(a, s, t); }},
      {"operator.set", std::nullopt, [](P& p, const json& a, const std::string&, wall_time t) { return p.operator_set(a, t); }},
  };
  return table;
}

const Production::Command* Production::find_command(std::string_view cmd) {
  for (const auto& c : commands())
    if (c.name == cmd) return &c;
  return nullptr;
}

bool Production::weighing() const {
  return batch_ && batch_->step < batch_->recipe.steps.size() &&
         batch_->recipe.steps[batch_->step].kind == StepKind::weigh;
}

Record Production::event(const std::string& name, const json& fields, wall_time ts) const {
  return make_event(stamp_, name, ts, fields, ctx_);
}

void Production::sync_context() {
  const std::string op = ctx_.operator_id;
  ctx_ = StationContext{};
  ctx_.mode = mode_;
  ctx_.operator_id = op;
  if (batch_) {
    ctx_.batch = batch_->id;
    ctx_.recipe = batch_->recipe.id;
    if (batch_->step < batch_->recipe.steps.size()) {
      ctx_.step = batch_->recipe.steps[batch_->step].name;
      ctx_.step_no = static_cast<int>(batch_->step) + 1;
    }
  }
  if (wo_) {
    ctx_.work_order = wo_->id;
    ctx_.unit = wo_->units;
    for (const auto& [serial, unit] : wo_->serials)
      if (unit == wo_->units) ctx_.serial = serial;
  }
}

Outcome Production::handle(const std::string& cmd, const json& args, const std::string& source, wall_time now) {
  const Command* c = find_command(cmd);
  if (!c) return refused("unknown command \"" + cmd + "\"");
  if (c->mode == Mode::process && mode_ != Mode::process)
    return refused("the station is in discrete mode; " + cmd + " is for process mode");
  if (c->mode == Mode::discrete && mode_ != Mode::discrete)
    return refused("the station is in process mode; " + cmd + " is for discrete mode");
  return c->run(*this, args, source, now);
}

// ---- process mode

Outcome Production::batch_start(const json& args, wall_time now) {
  std::string error;
  const auto id = text(args, "batch", error);
  const auto recipe_id = text(args, "recipe", error);
  if (!error.empty()) return refused(error);
  if (!id || !recipe_id) return refused("batch.start needs \"batch\" and \"recipe\"");
  if (batch_)
    return refused("batch " + batch_->id + " is running (step " + std::to_string(batch_->step + 1) + " of " +
                   std::to_string(batch_->recipe.steps.size()) + "); end it with batch.end first");
  const Recipe* recipe = nullptr;
  for (const auto& r : recipes_)
    if (r.id == *recipe_id) recipe = &r;
  if (!recipe) return refused("unknown recipe \"" + *recipe_id + "\" (recipes: " + recipe_list(recipes_) + ")");
  if (recipe->steps.empty()) return refused("recipe \"" + *recipe_id + "\" has no steps");

  batch_ = Batch{*id, *recipe, now, 0, json::array(), {}};
  Outcome out;
  sync_context();
  out.records.push_back(event("batch.started", {{"recipe_name", recipe->name}, {"steps", recipe->steps.size()}}, now));
  start_step(out, now);
  out.reply = {{"batch", *id}, {"step", ctx_.step}, {"step_no", ctx_.step_no}};
  return out;
}

void Production::start_step(Outcome& out, wall_time now) {
  batch_->run = StepRun{};
  batch_->run.started = now;
  sync_context();
  out.records.push_back(event("step.started", step_targets(batch_->recipe.steps[batch_->step]), now));
}

json Production::complete_step(wall_time now) {
  const RecipeStep& s = batch_->recipe.steps[batch_->step];
  StepRun& run = batch_->run;
  json rec = step_targets(s);
  rec.erase("step");
  json step{{"no", batch_->step + 1}, {"name", s.name}};
  step.update(rec);
  step["started"] = format_ts(run.started);
  step["ended"] = format_ts(now);
  step["duration_s"] = seconds_between(run.started, now);
  bool ok = true;
  if (s.kind == StepKind::weigh) {
    // The last stable weight; a scale that never says "stable" (Adam's plain format) gives its last weight, and
    // the record says it was not confirmed stable.
    const auto amount = run.last_stable ? run.last_stable : run.last_value;
    step["amount"] = amount ? json(*amount) : json(nullptr);
    if (amount) step["amount_stable"] = run.last_stable.has_value();
    if (!run.unit.empty()) step["unit"] = run.unit;
    ok = amount && std::fabs(*amount - s.target) <= s.tolerance;
    step["within_tolerance"] = ok;
  } else if (s.kind == StepKind::hold) {
    if (run.last_ts && run.last_in_range) run.in_range_s += std::max(0.0, seconds_between(*run.last_ts, now));
    run.last_ts.reset();
    step["readings"] = run.count;
    step["min_value"] = run.min ? json(*run.min) : json(nullptr);
    step["mean_value"] = run.count ? json(std::round(run.sum / run.count * 1000) / 1000) : json(nullptr);
    step["max_value"] = run.max ? json(*run.max) : json(nullptr);
    step["time_in_range_s"] = std::round(run.in_range_s * 1000) / 1000;
    step["excursions"] = run.excursions;
    ok = run.in_range_s >= s.hold_s;
    step["held"] = ok;
  }
  step["lots"] = run.lots;
  step["alarms"] = json::array();  // filled by the alarm engine when it exists
  step["ok"] = ok;
  return step;
}

Outcome Production::step_next(wall_time now) {
  if (!batch_) return refused("no batch is running");
  Outcome out;
  json step = complete_step(now);
  step["completed"] = true;
  out.records.push_back(event("step.completed", step, now));
  batch_->completed.push_back(std::move(step));
  if (++batch_->step < batch_->recipe.steps.size()) {
    start_step(out, now);
    out.reply = {{"step", ctx_.step}, {"step_no", ctx_.step_no}};
  } else {
    end_batch(out, "complete", "", now);
    out.reply = {{"outcome", "complete"}};
  }
  return out;
}

void Production::end_batch(Outcome& out, const std::string& outcome, const std::string& note, wall_time now) {
  json steps = batch_->completed;
  json failed = json::array();
  for (const auto& s : steps)
    if (!s["ok"].get<bool>()) failed.push_back(s["name"]);
  json record{{"batch", batch_->id},
              {"recipe", batch_->recipe.id},
              {"recipe_name", batch_->recipe.name},
              {"outcome", outcome},
              {"started", format_ts(batch_->started)},
              {"ended", format_ts(now)},
              {"duration_s", seconds_between(batch_->started, now)},
              {"steps_total", batch_->recipe.steps.size()},
              {"steps_completed", steps.size()}};
  if (!note.empty()) record["note"] = note;
  if (!ctx_.operator_id.empty()) record["operator"] = ctx_.operator_id;
  if (batch_->step < batch_->recipe.steps.size()) {  // ended early: the interrupted step is part of the record
    json current = complete_step(now);
    current["completed"] = false;
    steps.push_back(std::move(current));
  }
  record["failed_steps"] = failed;
  record["steps"] = std::move(steps);
  ctx_.step.clear();
  ctx_.step_no = 0;
  out.records.push_back(event("batch.ended", {{"outcome", outcome}, {"failed_steps", failed}, {"record", "batches"}}, now));
  out.records.push_back(make_record(RecordKind::batch, "batches", stamp_, now, record, ctx_));
  batch_.reset();
  sync_context();
}

Outcome Production::batch_end(const json& args, wall_time now) {
  if (!batch_) return refused("no batch is running");
  std::string error;
  const auto outcome = text(args, "outcome", error);
  const auto note = text(args, "note", error);
  if (!error.empty()) return refused(error);
  Outcome out;
  end_batch(out, outcome.value_or("aborted"), note.value_or(""), now);
  out.reply = {{"outcome", outcome.value_or("aborted")}};
  return out;
}

Outcome Production::lot_record(const json& args, wall_time now) {
  std::string error;
  const auto lot = text(args, "lot", error);
  if (!error.empty()) return refused(error);
  if (!lot) return refused("lot.record needs \"lot\"");
  if (!batch_) return refused("no batch is running: a lot is recorded on a step");
  batch_->run.lots.push_back(*lot);
  Outcome out;
  out.records.push_back(event("lot.recorded", {{"lot", *lot}}, now));
  out.reply = {{"lot", *lot}, {"step", ctx_.step}};
  return out;
}

bool Production::observe(const std::string& device, const Reading& r) {
  if (!batch_ || batch_->step >= batch_->recipe.steps.size()) return false;
  const RecipeStep& s = batch_->recipe.steps[batch_->step];
  // A non-finite value ("nan" from a sketch) is not a measurement: it would also poison the saved state.
  if (s.device != device || !r.fault.empty() || !r.value || !std::isfinite(*r.value)) return false;
  StepRun& run = batch_->run;
  const double v = *r.value;
  if (s.kind == StepKind::weigh) {
    // Devices without a stability flag (an indicator on serial-line) count every reading as settled.
    run.last_value = v;
    run.unit = r.unit;
    if (r.stable.value_or(true)) run.last_stable = v;
  } else if (s.kind == StepKind::hold) {
    const bool in_range = v >= s.min && v <= s.max;
    // Time between two readings counts as in range when the earlier one was; a gap (restart) counts nothing.
    if (run.last_ts && run.last_in_range) run.in_range_s += std::max(0.0, seconds_between(*run.last_ts, r.ts));
    if (run.last_ts && run.last_in_range && !in_range) ++run.excursions;
    run.last_ts = r.ts;
    run.last_in_range = in_range;
    run.min = run.min ? std::min(*run.min, v) : v;
    run.max = run.max ? std::max(*run.max, v) : v;
    run.sum += v;
    ++run.count;
  }
  return s.kind != StepKind::manual;
}

void Production::device_offline(const std::string& device) {
  if (batch_ && batch_->step < batch_->recipe.steps.size() && batch_->recipe.steps[batch_->step].device == device)
    batch_->run.last_ts.reset();
}

// ---- discrete mode

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
  wo_ = WorkOrder{*id, target, now, 0, 0, {}, false, now, std::nullopt};
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
                       {"duration_s", seconds_between(*wo_->downtime_since, now)}},
                      now));
  wo_->downtime_since.reset();
}

Outcome Production::work_order_end(wall_time now) {
  if (!wo_) return refused("no work order is active");
  Outcome out;
  end_downtime(out.records, now);
  const double duration_s = seconds_between(wo_->started, now);
  json fields{{"good", wo_->units - wo_->rejected}, {"rejected", wo_->rejected}, {"total", wo_->units},
              {"duration_s", duration_s},
              {"units_per_hour", duration_s > 0 ? std::round(wo_->units / (duration_s / 3600) * 10) / 10 : 0.0}};
  if (wo_->target) fields["target"] = *wo_->target;
  out.records.push_back(event("work_order.ended", fields, now));
  out.reply = fields;
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
  if (serial) wo_->serials.emplace(*serial, wo_->units);
  sync_context();
  json unit{{"work_order", wo_->id}, {"unit", wo_->units}};
  if (serial) unit["serial"] = *serial;
  unit["source"] = source;
  unit["status"] = "good";
  out.records.push_back(make_record(RecordKind::unit, "units", stamp_, now, unit, ctx_));
  out.reply = {{"unit", wo_->units}};
  if (wo_->target) out.reply["remaining"] = std::max<std::int64_t>(0, *wo_->target - (wo_->units - wo_->rejected));
  return out;
}

Outcome Production::unit_reject(const json& args, const std::string& source, wall_time now) {
  std::string error;
  const auto reason = text(args, "reason", error);
  if (!error.empty()) return refused(error);
  if (!wo_) return refused("no work order is active");
  if (wo_->units == 0) return refused("no unit to reject yet in work order " + wo_->id);
  if (wo_->latest_rejected) return refused("unit " + std::to_string(wo_->units) + " is already rejected");
  wo_->latest_rejected = true;
  ++wo_->rejected;
  wo_->last_activity = now;
  Outcome out;
  json unit{{"work_order", wo_->id}, {"unit", wo_->units}};
  if (!ctx_.serial.empty()) unit["serial"] = ctx_.serial;
  unit["source"] = source;
  unit["status"] = "rejected";
  if (reason) unit["reason"] = *reason;
  out.records.push_back(make_record(RecordKind::unit, "units", stamp_, now, unit, ctx_));
  out.reply = {{"unit", wo_->units}, {"status", "rejected"}};
  return out;
}

std::vector<Record> Production::tick(wall_time now) {
  std::vector<Record> out;
  if (wo_ && !wo_->downtime_since && now >= wo_->last_activity + seconds(downtime_s_)) {
    wo_->downtime_since = wo_->last_activity;
    out.push_back(event("downtime.started", {{"since", format_ts(wo_->last_activity)}, {"after_s", downtime_s_}}, now));
  }
  return out;
}

std::optional<wall_time> Production::next_deadline() const {
  if (!wo_ || wo_->downtime_since) return std::nullopt;
  return wo_->last_activity + seconds(downtime_s_);
}

// ---- both modes

Outcome Production::operator_set(const json& args, wall_time now) {
  std::string error;
  const auto op = text(args, "operator", error);
  if (!error.empty()) return refused(error);
  if (!op) return refused("operator.set needs \"operator\"");
  const std::string previous = ctx_.operator_id;
  ctx_.operator_id = *op;
  Outcome out;
  json fields = json::object();
  if (!previous.empty()) fields["previous"] = previous;
  out.records.push_back(event("operator.changed", fields, now));
  out.reply = {{"operator", *op}};
  return out;
}

json Production::context_payload() const {
  json c{{"mode", mode_ == Mode::process ? "process" : "discrete"}};
  add_context(c, ctx_);
  if (batch_ && batch_->step < batch_->recipe.steps.size()) {
    c["steps"] = batch_->recipe.steps.size();
    c["targets"] = step_targets(batch_->recipe.steps[batch_->step]);
    c["step_started"] = format_ts(batch_->run.started);
  }
  if (wo_) {
    c["good"] = wo_->units - wo_->rejected;
    c["rejected"] = wo_->rejected;
    if (wo_->target) c["target"] = *wo_->target;
    if (wo_->downtime_since) c["downtime_since"] = format_ts(*wo_->downtime_since);
  }
  return c;
}

}  // namespace tally
