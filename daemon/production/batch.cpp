// The production state machine: process mode: batches following a recipe, steps, the batch record.
#include "production/detail.hpp"

namespace tally {

using namespace production_detail;

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

  batch_ = Batch{*id, *recipe, now, mono_now(), 0, json::array(), {}};
  recipe_row_ = to_text(recipe_to_json(*recipe));
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
  batch_->run.started_mono = mono_now();
  sync_context();
  out.records.push_back(event("step.started", step_targets(batch_->recipe.steps[batch_->step]), now));
}

json Production::complete_step(wall_time now) {
  const RecipeStep& s = batch_->recipe.steps[batch_->step];
  StepRun& run = batch_->run;
  const mono_time mono = mono_now();
  json rec = step_targets(s);
  rec.erase("step");
  json step{{"no", batch_->step + 1}, {"name", s.name}};
  step.update(rec);
  step["started"] = format_ts(run.started);
  step["ended"] = format_ts(now);
  step["duration_s"] = seconds_between(run.started_mono, mono);
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
    // The alarm engine raises <step>.tolerance for this (Outcome::steps_ended); it belongs to this step's record.
    if (!ok) {
      json entry{{"alarm", s.name + ".tolerance"}, {"severity", "warning"}, {"raised", format_ts(now)}};
      if (amount) entry["value"] = *amount;
      entry["limit"] = amount && *amount > s.target ? s.target + s.tolerance : s.target - s.tolerance;
      run.alarms.push_back(std::move(entry));
    }
  } else if (s.kind == StepKind::hold) {
    if (run.last_mono && run.last_in_range) run.in_range_s += std::max(0.0, seconds_between(*run.last_mono, mono));
    run.last_mono.reset();
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
  step["alarms"] = run.alarms;
  step["ok"] = ok;
  return step;
}

Outcome Production::step_next(wall_time now) {
  if (!batch_) return refused("no batch is running");
  Outcome out;
  json step = complete_step(now);
  step["completed"] = true;
  out.records.push_back(event("step.completed", step, now));
  out.steps_ended.push_back({batch_->recipe.steps[batch_->step], batch_->id, step});
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
              {"duration_s", seconds_between(batch_->started_mono, mono_now())},
              {"steps_total", batch_->recipe.steps.size()},
              {"steps_completed", steps.size()}};
  if (!note.empty()) record["note"] = note;
  if (!ctx_.operator_id.empty()) record["operator"] = ctx_.operator_id;
  if (batch_->step < batch_->recipe.steps.size()) {  // ended early: the interrupted step is part of the record
    json current = complete_step(now);
    current["completed"] = false;
    out.steps_ended.push_back({batch_->recipe.steps[batch_->step], batch_->id, current});
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
  const auto note = text(args, "note", error, kMaxText);
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
    // Measured on the monotonic clock when the reading is handled, not from its wall-clock timestamp: an NTP step
    // between two readings must not credit (or take away) hours of hold time.
    const mono_time mono = mono_now();
    if (run.last_mono && run.last_in_range) run.in_range_s += std::max(0.0, seconds_between(*run.last_mono, mono));
    if (run.last_mono && run.last_in_range && !in_range) ++run.excursions;
    run.last_mono = mono;
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
    batch_->run.last_mono.reset();
}

}  // namespace tally
