// The production context's persistence: the document saved in the buffer's `state` table (key "context"). The
// active work order's serials are rows of their own beside it (Production::take_serial_rows, production/store.cpp).
//
// Monotonic instants (step and batch starts, the last activity of a work order) are saved as milliseconds of the
// monotonic clock together with the kernel's boot id and the monotonic time of the save. Restored in the same boot
// (a restart, a kill -9) they are used as they are, so a step's duration and a downtime deadline run on across the
// restart. Restored after a reboot, where the monotonic clock started again, they are shifted so that the moment of
// the save becomes the moment of the restore: the time the station was down is not counted, because nothing the
// station can trust (the wall clock of a Pi without an RTC is not) says how long it was.
#include <fstream>

#include "production/detail.hpp"

namespace tally {

namespace production_detail {
std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}
}  // namespace production_detail

namespace {

using namespace std::chrono;

std::int64_t to_ms(wall_time t) { return duration_cast<milliseconds>(t.time_since_epoch()).count(); }
wall_time from_ms(std::int64_t ms) { return wall_time(milliseconds(ms)); }
std::int64_t mono_ms(mono_time t) { return duration_cast<milliseconds>(t.time_since_epoch()).count(); }

}  // namespace

json production_detail::recipe_to_json(const Recipe& r) {
  json steps = json::array();
  for (const auto& s : r.steps) {
    json j = step_targets(s);
    j["alarm_after_s"] = s.alarm_after_s;
    steps.push_back(j);
  }
  return {{"id", r.id}, {"name", r.name}, {"steps", steps}};
}

namespace {

Recipe recipe_from_json(const json& j) {
  Recipe r{j.at("id"), j.at("name"), {}};
  for (const auto& s : j.at("steps")) {
    RecipeStep step;
    step.name = s.at("step");
    const std::string kind = s.at("kind");
    step.kind = kind == "weigh" ? StepKind::weigh : kind == "hold" ? StepKind::hold : StepKind::manual;
    step.device = s.value("device", "");
    step.target = s.value("target", 0.0);
    step.tolerance = s.value("tolerance", 0.0);
    step.min = s.value("min", 0.0);
    step.max = s.value("max", 0.0);
    step.hold_s = s.value("hold_s", 0.0);
    step.alarm_after_s = s.value("alarm_after_s", 10.0);
    if (s.contains("max_s")) step.max_s = s["max_s"].get<double>();
    r.steps.push_back(step);
  }
  return r;
}

}  // namespace

// The saved batch's recipe: embedded in documents written before recipes became a row of their own (then handed
// over to be written as that row), else the snapshot row, else the configured recipe of that id.
Recipe Production::restore_recipe(const json& saved, const std::string* snapshot) {
  if (saved.is_object()) {
    recipe_row_ = to_text(saved);
    return recipe_from_json(saved);
  }
  const std::string id = saved.get<std::string>();
  if (snapshot) {
    const json copy = json::parse(*snapshot, nullptr, false);
    if (copy.is_object() && copy.value("id", "") == id) return recipe_from_json(copy);
  }
  for (const auto& r : recipes_)
    if (r.id == id) return r;
  throw std::runtime_error("the running batch's recipe \"" + id + "\" is neither saved nor configured");
}

std::string Production::save() const {
  json doc{{"version", 2}, {"mode", mode_ == Mode::process ? "process" : "discrete"}, {"operator", ctx_.operator_id},
           {"boot", boot_id_}, {"mono_ms", mono_ms(mono_())}};
  if (batch_) {
    const StepRun& r = batch_->run;
    json run{{"started", to_ms(r.started)}, {"started_mono", mono_ms(r.started_mono)}, {"unit", r.unit},
             {"lots", r.lots}, {"sum", r.sum}, {"count", r.count}, {"in_range_s", r.in_range_s},
             {"excursions", r.excursions}, {"alarms", r.alarms}};
    if (r.last_stable) run["last_stable"] = *r.last_stable;
    if (r.last_value) run["last_value"] = *r.last_value;
    if (r.min) run["min"] = *r.min;
    if (r.max) run["max"] = *r.max;
    // last_mono is not saved: time while the daemon was down is not known to be in range.
    doc["batch"] = {{"id", batch_->id}, {"recipe", batch_->recipe.id}, {"started", to_ms(batch_->started)},
                    {"started_mono", mono_ms(batch_->started_mono)}, {"step", batch_->step},
                    {"completed", batch_->completed}, {"run", run}};
  }
  if (wo_) {
    json wo{{"id", wo_->id}, {"started", to_ms(wo_->started)}, {"units", wo_->units}, {"rejected", wo_->rejected},
            {"latest_rejected", wo_->latest_rejected}, {"serial", wo_->latest_serial},
            {"last_activity", to_ms(wo_->last_activity)}, {"started_mono", mono_ms(wo_->started_mono)},
            {"last_activity_mono", mono_ms(wo_->last_activity_mono)}};
    if (wo_->target) wo["target"] = *wo_->target;
    if (wo_->downtime_since) {
      wo["downtime_since"] = to_ms(*wo_->downtime_since);
      wo["downtime_since_mono"] = mono_ms(wo_->downtime_since_mono);
    }
    doc["work_order"] = wo;
  }
  return to_text(doc);
}

std::optional<std::string> Production::restore(const std::string& document, const std::string* recipe_snapshot) {
  try {
    const json doc = json::parse(document);
    const std::string mode = doc.at("mode");
    if (mode != (mode_ == Mode::process ? "process" : "discrete"))
      return "the saved context is for " + mode + " mode and the station is now in the other mode: not restored";
    ctx_.operator_id = doc.value("operator", "");
    // A saved monotonic instant, re-anchored after a reboot (see the top of this file). Documents written before
    // monotonic instants were saved give "now".
    const mono_time now = mono_();
    const bool same_boot = !boot_id_.empty() && doc.value("boot", "") == boot_id_;
    const std::int64_t shift = doc.contains("mono_ms") && !same_boot ? mono_ms(now) - doc["mono_ms"].get<std::int64_t>() : 0;
    const auto mono = [&](const json& j, const char* key) {
      return j.contains(key) && doc.contains("mono_ms") ? mono_time(milliseconds(j[key].get<std::int64_t>() + shift)) : now;
    };
    if (doc.contains("batch")) {
      const json& b = doc["batch"];
      const json& r = b.at("run");
      Batch batch{b.at("id"), restore_recipe(b.at("recipe"), recipe_snapshot), from_ms(b.at("started")), {}, b.at("step"),
                  b.at("completed"), {}};
      batch.started_mono = mono(b, "started_mono");
      batch.run.started = from_ms(r.at("started"));
      batch.run.started_mono = mono(r, "started_mono");
      if (r.contains("alarms")) batch.run.alarms = r["alarms"];
      batch.run.unit = r.value("unit", "");
      batch.run.lots = r.value("lots", std::vector<std::string>{});
      batch.run.sum = r.value("sum", 0.0);
      batch.run.count = r.value("count", 0L);
      batch.run.in_range_s = r.value("in_range_s", 0.0);
      batch.run.excursions = r.value("excursions", 0);
      if (r.contains("last_stable")) batch.run.last_stable = r["last_stable"].get<double>();
      if (r.contains("last_value")) batch.run.last_value = r["last_value"].get<double>();
      if (r.contains("min")) batch.run.min = r["min"].get<double>();
      if (r.contains("max")) batch.run.max = r["max"].get<double>();
      batch_ = std::move(batch);
    }
    if (doc.contains("work_order")) {
      const json& w = doc["work_order"];
      WorkOrder wo{w.at("id"), std::nullopt, from_ms(w.at("started")), w.at("units"), w.at("rejected"),
                   {}, w.value("latest_rejected", false),
                   from_ms(w.at("last_activity")), std::nullopt, {}, {}, {}, ""};
      if (w.contains("target")) wo.target = w["target"].get<std::int64_t>();
      if (w.contains("downtime_since")) wo.downtime_since = from_ms(w["downtime_since"]);
      wo.started_mono = mono(w, "started_mono");
      wo.last_activity_mono = mono(w, "last_activity_mono");
      wo.downtime_since_mono = mono(w, "downtime_since_mono");
      // Documents written before the serials became rows of their own carry the set: kept, and handed over as
      // rows so that the next save writes them (and the document no longer carries them).
      wo.latest_serial = w.value("serial", "");
      if (w.contains("serials")) {
        wo.serials = w["serials"].get<std::map<std::string, std::int64_t>>();
        for (const auto& [serial, unit] : wo.serials) {
          serial_rows_.push_back({serial, unit});
          if (unit == wo.units && !w.contains("serial")) wo.latest_serial = serial;
        }
      }
      wo_ = std::move(wo);
    }
  } catch (const std::exception& e) {
    batch_.reset();
    wo_.reset();
    serial_rows_.clear();
    sync_context();
    return std::string("the saved context could not be read (") + e.what() + "): starting without one";
  }
  sync_context();
  return std::nullopt;
}

}  // namespace tally
