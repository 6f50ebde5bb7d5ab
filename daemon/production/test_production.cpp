// The production context as a state machine: commands in every state, readings feeding steps, the batch record,
// persistence across a restart, and the context stamped on records in both modes.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "production/production.hpp"

using namespace tally;
using namespace std::chrono;

namespace {

const wall_time t0 = wall_time(milliseconds(1795515302000));  // 2026-11-24T10:15:02Z
// Production measures durations on the monotonic clock. These tests move it along with the wall time of what they
// feed in (a reading's ts, a command's time), as a station with a synchronised clock sees it; the wall-clock jump
// tests move the two apart.
const mono_time m0 = mono_time(seconds(5000));
mono_time fake_mono = m0;
void at_wall(wall_time t) { fake_mono = m0 + (t - t0); }

Recipe soap() {
  Recipe r{"lavender-soap", "Lavender soap, 40 bars", {}};
  auto step = [](const char* name, StepKind kind, const char* device) {
    RecipeStep s;
    s.name = name;
    s.kind = kind;
    s.device = device;
    return s;
  };
  RecipeStep oils = step("weigh-oils", StepKind::weigh, "bench-scale");
  oils.target = 3200;
  oils.tolerance = 15;
  RecipeStep lye = step("weigh-lye", StepKind::weigh, "bench-scale");
  lye.target = 1100;
  lye.tolerance = 10;
  RecipeStep heat = step("heat-oils", StepKind::hold, "kettle");
  heat.min = 43;
  heat.max = 49;
  heat.hold_s = 600;
  r.steps = {oils, lye, heat, step("pour-moulds", StepKind::manual, "")};
  return r;
}

struct Station {
  StampInfo stamp{"bench-1", true};
  Production p;
  explicit Station(Mode mode) : p(mode, 300, {soap()}, stamp) {
    fake_mono = m0;
    p.set_clock([] { return fake_mono; }, "boot-1");
  }
  Outcome cmd(const std::string& name, const json& args = json::object(), wall_time at = t0) {
    at_wall(at);
    return p.handle(name, args, "mqtt", at);
  }
  std::vector<Record> tick(wall_time at) {
    at_wall(at);
    return p.tick(at);
  }
};

Reading weight(double g, bool stable, wall_time at) {
  at_wall(at);
  Reading r = Reading::measured("mass", g, "g", at);
  r.stable = stable;
  return r;
}

Reading temp(double c, wall_time at) {
  at_wall(at);
  return Reading::measured("temperature", c, "degC", at);
}

std::vector<std::string> event_names(const Outcome& o) {
  std::vector<std::string> names;
  for (const auto& r : o.records) names.push_back(r.body.contains("event") ? r.body["event"].get<std::string>() : r.topic);
  return names;
}

}  // namespace

TEST_CASE("batch.start starts step 1 of the recipe and stamps the context") {
  Station s(Mode::process);
  const auto o = s.cmd("batch.start", {{"batch", "B-1042"}, {"recipe", "lavender-soap"}});
  REQUIRE(o.ok);
  CHECK(event_names(o) == std::vector<std::string>{"batch.started", "step.started"});
  const json& started = o.records[1].body;
  CHECK(started["batch"] == "B-1042");
  CHECK(started["recipe"] == "lavender-soap");
  CHECK(started["step"] == "weigh-oils");
  CHECK(started["step_no"] == 1);
  CHECK(started["target"] == 3200.0);
  CHECK(started["tolerance"] == 15.0);
  CHECK(s.p.context().batch == "B-1042");
  CHECK(s.p.context().step_no == 1);
  const json ctx = s.p.context_payload();
  CHECK(ctx["mode"] == "process");
  CHECK(ctx["targets"]["device"] == "bench-scale");
  CHECK(ctx["targets"]["target"] == 3200.0);
}

TEST_CASE("process commands refused in the wrong state change nothing") {
  Station s(Mode::process);
  CHECK(s.cmd("step.next").error == "no batch is running");
  CHECK(s.cmd("batch.end").error == "no batch is running");
  CHECK(s.cmd("lot.record", {{"lot", "L1"}}).error == "no batch is running: a lot is recorded on a step");
  CHECK(s.cmd("batch.start", {{"batch", "B-1"}, {"recipe", "rose"}}).error ==
        "unknown recipe \"rose\" (recipes: lavender-soap)");
  CHECK(s.cmd("batch.start", {{"batch", "B-1"}}).error == "batch.start needs \"batch\" and \"recipe\"");
  CHECK(s.cmd("batch.start", {{"batch", 7.5}, {"recipe", "lavender-soap"}}).error ==
        "\"batch\" must be a non-empty string or a whole number");
  CHECK(s.cmd("work_order.start", {{"work_order", "WO-1"}}).error ==
        "the station is in process mode; work_order.start is for discrete mode");
  CHECK(s.cmd("unit.add").error == "the station is in process mode; unit.add is for discrete mode");
  CHECK(s.p.context().batch.empty());

  REQUIRE(s.cmd("batch.start", {{"batch", "B-1"}, {"recipe", "lavender-soap"}}).ok);
  const auto second = s.cmd("batch.start", {{"batch", "B-2"}, {"recipe", "lavender-soap"}});
  CHECK_FALSE(second.ok);
  CHECK(second.error == "batch B-1 is running (step 1 of 4); end it with batch.end first");
  CHECK(second.records.empty());
  CHECK(s.p.context().batch == "B-1");
}

TEST_CASE("a whole batch: weigh amounts, a hold's time in range, lots, and the batch record") {
  Station s(Mode::process);
  REQUIRE(s.cmd("operator.set", {{"operator", "ana"}}).ok);
  REQUIRE(s.cmd("batch.start", {{"batch", "B-7"}, {"recipe", "lavender-soap"}}, t0).ok);

  // weigh-oils: the last STABLE weight counts; it is out of tolerance (3230 vs 3200 +- 15)
  s.p.observe("bench-scale", weight(3195, true, t0 + 10s));
  s.p.observe("bench-scale", weight(3230, true, t0 + 20s));
  s.p.observe("bench-scale", weight(3100, false, t0 + 21s));  // still moving: ignored
  s.p.observe("kettle", temp(20, t0 + 21s));                  // another device: ignored
  REQUIRE(s.cmd("lot.record", {{"lot", "OLIVE-0423"}}, t0 + 25s).ok);
  auto o = s.cmd("step.next", {}, t0 + 30s);
  REQUIRE(o.ok);
  CHECK(event_names(o) == std::vector<std::string>{"step.completed", "step.started"});
  const json& oils = o.records[0].body;
  CHECK(oils["amount"] == 3230.0);
  CHECK(oils["within_tolerance"] == false);
  CHECK(oils["ok"] == false);
  CHECK(oils["lots"] == json{"OLIVE-0423"});
  CHECK(oils["step"] == "weigh-oils");  // the completed step's context
  CHECK(o.records[1].body["step"] == "weigh-lye");

  // weigh-lye: within tolerance
  s.p.observe("bench-scale", weight(1104, true, t0 + 40s));
  REQUIRE(s.cmd("step.next", {}, t0 + 50s).ok);

  // heat-oils, interrupted: in range 100 s, out for 50 s, back in for 200 s
  s.p.observe("kettle", temp(44, t0 + 100s));
  s.p.observe("kettle", temp(46, t0 + 200s));
  s.p.observe("kettle", temp(52, t0 + 250s));  // 150 s in range so far (100..250 counted from the in-range reading)
  s.p.observe("kettle", temp(45, t0 + 300s));  // out 250..300
  s.p.observe("kettle", temp(47, t0 + 400s));
  o = s.cmd("step.next", {}, t0 + 500s);       // 300..500 in range: 150 + 200 = 350 s
  REQUIRE(o.ok);
  const json& heat = o.records[0].body;
  CHECK(heat["time_in_range_s"] == 350.0);
  CHECK(heat["excursions"] == 1);
  CHECK(heat["held"] == false);  // 350 s < hold_s 600
  CHECK(heat["min_value"] == 44.0);
  CHECK(heat["max_value"] == 52.0);
  CHECK(heat["mean_value"] == 46.8);
  CHECK(heat["readings"] == 5);

  o = s.cmd("step.next", {}, t0 + 600s);  // pour-moulds, the last step: the batch completes
  REQUIRE(o.ok);
  CHECK(event_names(o) == std::vector<std::string>{"step.completed", "batch.ended", "batches"});
  const Record& batch = o.records[2];
  CHECK(batch.kind == RecordKind::batch);
  const json& b = batch.body;
  CHECK(b["batch"] == "B-7");
  CHECK(b["recipe"] == "lavender-soap");
  CHECK(b["outcome"] == "complete");
  CHECK(b["operator"] == "ana");
  CHECK(b["duration_s"] == 600.0);
  CHECK(b["steps_completed"] == 4);
  CHECK(b["failed_steps"] == json{"weigh-oils", "heat-oils"});
  REQUIRE(b["steps"].size() == 4);
  CHECK(b["steps"][1]["amount"] == 1104.0);
  CHECK(b["steps"][1]["ok"] == true);
  CHECK(b["steps"][2]["started"] == "2026-11-24T10:15:52.000Z");
  CHECK(b["steps"][2]["duration_s"] == 450.0);
  CHECK(b["steps"][3]["kind"] == "manual");
  CHECK(o.records[1].body["failed_steps"] == json{"weigh-oils", "heat-oils"});
  CHECK(s.p.context().batch.empty());
  CHECK(s.p.context().operator_id == "ana");
}

TEST_CASE("a weigh step on a scale that never says stable takes its last weight, marked unconfirmed") {
  Station s(Mode::process);
  REQUIRE(s.cmd("batch.start", {{"batch", "B-3"}, {"recipe", "lavender-soap"}}).ok);
  s.p.observe("bench-scale", weight(3190, false, t0 + 1s));
  s.p.observe("bench-scale", weight(3205, false, t0 + 2s));
  auto o = s.cmd("step.next", {}, t0 + 3s);
  CHECK(o.records[0].body["amount"] == 3205.0);
  CHECK(o.records[0].body["amount_stable"] == false);
  CHECK(o.records[0].body["within_tolerance"] == true);
  // A stable weight, when there is one, wins over later moving ones.
  s.p.observe("bench-scale", weight(1100, true, t0 + 4s));
  s.p.observe("bench-scale", weight(1500, false, t0 + 5s));
  o = s.cmd("step.next", {}, t0 + 6s);
  CHECK(o.records[0].body["amount"] == 1100.0);
  CHECK(o.records[0].body["amount_stable"] == true);
}

TEST_CASE("a hold step does not count time in range while its device is offline, nor non-finite values") {
  Station s(Mode::process);
  REQUIRE(s.cmd("batch.start", {{"batch", "B-4"}, {"recipe", "lavender-soap"}}).ok);
  REQUIRE(s.cmd("step.next", {}, t0).ok);
  REQUIRE(s.cmd("step.next", {}, t0).ok);  // heat-oils
  s.p.observe("kettle", temp(45, t0 + 10s));
  s.p.observe("kettle", temp(std::nan(""), t0 + 15s));  // "nan" from a sketch: not a measurement
  s.p.observe("kettle", temp(46, t0 + 20s));            // 10 s in range
  s.p.device_offline("kettle");                         // unplugged for ten minutes
  s.p.observe("kettle", temp(46, t0 + 620s));
  s.p.observe("kettle", temp(47, t0 + 630s));           // +10 s
  const std::string saved = s.p.save();
  const json run = json::parse(saved)["batch"]["run"];  // nothing non-finite (it would save as null)
  CHECK(run["sum"] == 184.0);
  CHECK(run["min"] == 45.0);
  CHECK(run["max"] == 47.0);
  const auto o = s.cmd("step.next", {}, t0 + 630s);
  CHECK(o.records[0].body["time_in_range_s"] == 20.0);
  CHECK(o.records[0].body["readings"] == 4);
}

TEST_CASE("batch.end ends early as aborted and records the interrupted step") {
  Station s(Mode::process);
  REQUIRE(s.cmd("batch.start", {{"batch", "B-8"}, {"recipe", "lavender-soap"}}).ok);
  const auto o = s.cmd("batch.end", {{"note", "lye spilled"}}, t0 + 5s);
  REQUIRE(o.ok);
  const json& b = o.records.back().body;
  CHECK(b["outcome"] == "aborted");
  CHECK(b["note"] == "lye spilled");
  CHECK(b["steps_completed"] == 0);
  REQUIRE(b["steps"].size() == 1);
  CHECK(b["steps"][0]["completed"] == false);
  CHECK(s.cmd("batch.end", {{"outcome", "scrapped"}}).error == "no batch is running");
}

TEST_CASE("a batch resumes after a restart at the same step with its accumulators") {
  Station a(Mode::process);
  REQUIRE(a.cmd("operator.set", {{"operator", "bo"}}).ok);
  REQUIRE(a.cmd("batch.start", {{"batch", "B-9"}, {"recipe", "lavender-soap"}}).ok);
  a.p.observe("bench-scale", weight(3201, true, t0 + 1s));
  REQUIRE(a.cmd("step.next", {}, t0 + 2s).ok);
  a.p.observe("bench-scale", weight(1099, true, t0 + 3s));
  REQUIRE(a.cmd("lot.record", {{"lot", "LYE-7"}}).ok);
  const std::string saved = a.p.save();
  const auto recipe = a.p.take_recipe_row();  // written once, at batch.start (production/store.hpp)
  REQUIRE(recipe.has_value());

  Station b(Mode::process);
  b.p.set_recipes({});  // the recipe was removed from the config meanwhile: the batch keeps its copy
  REQUIRE_FALSE(b.p.restore(saved, &*recipe).has_value());
  CHECK(b.p.context().batch == "B-9");
  CHECK(b.p.context().step == "weigh-lye");
  CHECK(b.p.context().step_no == 2);
  CHECK(b.p.context().operator_id == "bo");
  const auto o = b.cmd("step.next", {}, t0 + 10s);
  REQUIRE(o.ok);
  CHECK(o.records[0].body["amount"] == 1099.0);
  CHECK(o.records[0].body["lots"] == json{"LYE-7"});
  CHECK(o.records[1].body["step"] == "heat-oils");
}

TEST_CASE("a saved context for the other mode or a damaged one is not restored") {
  Station a(Mode::process);
  REQUIRE(a.cmd("batch.start", {{"batch", "B-1"}, {"recipe", "lavender-soap"}}).ok);
  Station d(Mode::discrete);
  CHECK(d.p.restore(a.p.save()).has_value());
  CHECK(d.p.context().batch.empty());
  Station p(Mode::process);
  CHECK(p.p.restore("{not json").has_value());
  CHECK(p.p.context().batch.empty());
}

TEST_CASE("a work order counts units, refuses duplicate serials, rejects the latest unit and totals at the end") {
  Station s(Mode::discrete);
  CHECK(s.cmd("unit.add").error == "no work order is active");
  CHECK(s.cmd("unit.reject").error == "no work order is active");
  CHECK(s.cmd("work_order.end").error == "no work order is active");
  CHECK(s.cmd("batch.start", {{"batch", "B"}, {"recipe", "lavender-soap"}}).error ==
        "the station is in discrete mode; batch.start is for process mode");
  CHECK(s.cmd("work_order.start", {{"work_order", "WO-1"}, {"target", 0}}).error ==
        "\"target\" must be a whole number of units, 1 or more");

  REQUIRE(s.cmd("work_order.start", {{"work_order", "WO-1"}, {"target", 3}}, t0).ok);
  CHECK(s.cmd("work_order.start", {{"work_order", "WO-2"}}).error ==
        "work order WO-1 is active; end it with work_order.end first");
  CHECK(s.cmd("unit.reject").error == "no unit to reject yet in work order WO-1");

  auto o = s.cmd("unit.add", {{"serial", "SN-1"}}, t0 + 60s);
  REQUIRE(o.ok);
  REQUIRE(o.records.size() == 1);
  const json& unit = o.records[0].body;
  CHECK(o.records[0].topic == "units");
  CHECK(unit["work_order"] == "WO-1");
  CHECK(unit["unit_no"] == 1);
  CHECK(unit["serial"] == "SN-1");
  CHECK(unit["source"] == "mqtt");
  CHECK(unit["status"] == "good");
  CHECK(o.reply["remaining"] == 2);

  o = s.cmd("unit.add", {{"serial", "SN-1"}}, t0 + 70s);
  CHECK_FALSE(o.ok);
  CHECK(o.error == "serial SN-1 is already unit 1 of work order WO-1");
  CHECK(event_names(o) == std::vector<std::string>{"unit.duplicate"});
  CHECK(s.p.context().unit_no == 1);

  REQUIRE(s.cmd("unit.add", {}, t0 + 80s).ok);  // no serial: a counted unit
  o = s.cmd("unit.reject", {{"reason", "scratched"}}, t0 + 90s);
  REQUIRE(o.ok);
  CHECK(o.records[0].body["unit_no"] == 2);
  CHECK(o.records[0].body["status"] == "rejected");
  CHECK(o.records[0].body["reason"] == "scratched");
  CHECK(s.cmd("unit.reject").error == "unit 2 is already rejected");
  REQUIRE(s.cmd("unit.add", {{"serial", "SN-3"}}, t0 + 100s).ok);
  CHECK(s.p.context().serial == "SN-3");

  o = s.cmd("work_order.end", {}, t0 + 3600s);
  REQUIRE(o.ok);
  const json& ended = o.records[0].body;
  CHECK(ended["event"] == "work_order.ended");
  CHECK(ended["good"] == 2);
  CHECK(ended["rejected"] == 1);
  CHECK(ended["total"] == 3);
  CHECK(ended["units_per_hour"] == 3.0);
  CHECK(ended["work_order"] == "WO-1");  // still stamped with the work order it ends
  CHECK(s.p.context().work_order.empty());
}

TEST_CASE("a serial or work order of digits may arrive as a JSON number and is the same identifier") {
  Station s(Mode::discrete);
  REQUIRE(s.cmd("work_order.start", {{"work_order", 4711}}).ok);
  CHECK(s.p.context().work_order == "4711");
  CHECK(s.cmd("unit.add", {{"serial", 1234}}).reply["unit_no"] == 1);
  CHECK(s.cmd("unit.add", {{"serial", "1234"}}).error == "serial 1234 is already unit 1 of work order 4711");
  CHECK(s.cmd("unit.add", {{"serial", 12.5}}).error == "\"serial\" must be a non-empty string or a whole number");
}

TEST_CASE("no unit for downtime_s starts downtime, and the next unit ends it") {
  Station s(Mode::discrete);
  REQUIRE(s.cmd("work_order.start", {{"work_order", "WO-5"}}, t0).ok);
  CHECK(s.p.next_deadline() == m0 + 300s);
  CHECK(s.tick(t0 + 299s).empty());
  auto started = s.tick(t0 + 300s);
  REQUIRE(started.size() == 1);
  CHECK(started[0].body["event"] == "downtime.started");
  CHECK(started[0].body["since"] == "2026-11-24T10:15:02.000Z");
  CHECK(s.tick(t0 + 400s).empty());  // once
  CHECK_FALSE(s.p.next_deadline().has_value());
  CHECK(s.p.context_payload()["downtime_since"] == "2026-11-24T10:15:02.000Z");
  const auto o = s.cmd("unit.add", {}, t0 + 420s);
  CHECK(event_names(o) == std::vector<std::string>{"downtime.ended", "units"});
  CHECK(o.records[0].body["duration_s"] == 420.0);
  CHECK(s.p.next_deadline() == m0 + 720s);
}

TEST_CASE("a work order resumes after a restart with its counts and serials") {
  Station a(Mode::discrete);
  REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-3"}, {"target", 10}}).ok);
  REQUIRE(a.cmd("unit.add", {{"serial", "A"}}).ok);
  REQUIRE(a.cmd("unit.add", {{"serial", "B"}}).ok);
  REQUIRE(a.cmd("unit.reject").ok);
  // The serials are rows of their own beside the document (production/store.cpp, test_store.cpp).
  std::map<std::string, std::int64_t> rows;
  for (const auto& row : a.p.take_serial_rows())
    if (row.unit) rows[row.serial] = *row.unit;
  CHECK(rows == std::map<std::string, std::int64_t>{{"A", 1}, {"B", 2}});
  CHECK(a.p.save().find("\"A\"") == std::string::npos);
  Station b(Mode::discrete);
  REQUIRE_FALSE(b.p.restore(a.p.save()).has_value());
  b.p.restore_serials(rows);
  CHECK_FALSE(b.p.serial_rows_pending());
  CHECK(b.p.context().work_order == "WO-3");
  CHECK(b.p.context().unit_no == 2);
  CHECK(b.p.context().serial == "B");
  CHECK(b.cmd("unit.add", {{"serial", "A"}}).error == "serial A is already unit 1 of work order WO-3");
  CHECK(b.cmd("unit.reject").error == "unit 2 is already rejected");
  const auto o = b.cmd("unit.add", {{"serial", "C"}});
  REQUIRE(o.ok);
  CHECK(o.records[0].body["unit_no"] == 3);
  CHECK(o.reply["remaining"] == 8);
  REQUIRE(b.p.take_serial_rows().size() == 1);
  // work_order.end hands over every serial of the work order for erasing, once.
  REQUIRE(b.cmd("work_order.end").ok);
  std::set<std::string> erased;
  for (const auto& row : b.p.take_serial_rows()) {
    CHECK_FALSE(row.unit.has_value());
    erased.insert(row.serial);
  }
  CHECK(erased == std::set<std::string>{"A", "B", "C"});
}

TEST_CASE("operator.set changes the operator stamped in both modes") {
  for (Mode mode : {Mode::process, Mode::discrete}) {
    Station s(mode);
    CHECK(s.cmd("operator.set", {{"operator", ""}}).error == "\"operator\" must be a non-empty string or a whole number");
    REQUIRE(s.cmd("operator.set", {{"operator", "ana"}}).ok);
    const auto o = s.cmd("operator.set", {{"operator", "bo"}});
    REQUIRE(o.ok);
    CHECK(o.records[0].body["event"] == "operator.changed");
    CHECK(o.records[0].body["operator"] == "bo");
    CHECK(o.records[0].body["previous"] == "ana");
    const Record r = stamp_reading({"bench-1", true}, "kettle", temp(40, t0), s.p.context());
    CHECK(body_of(r)["operator"] == "bo");
  }
}

TEST_CASE("readings are stamped with the step in process mode and the unit in discrete mode") {
  Station p(Mode::process);
  REQUIRE(p.cmd("batch.start", {{"batch", "B-1"}, {"recipe", "lavender-soap"}}).ok);
  json body = body_of(stamp_reading({"bench-1", true}, "bench-scale", weight(10, true, t0), p.p.context()));
  CHECK(body["batch"] == "B-1");
  CHECK(body["recipe"] == "lavender-soap");
  CHECK(body["step"] == "weigh-oils");
  CHECK(body["step_no"] == 1);
  CHECK_FALSE(body.contains("work_order"));

  Station d(Mode::discrete);
  REQUIRE(d.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);
  body = body_of(stamp_reading({"bench-1", true}, "eye", temp(1, t0), d.p.context()));
  CHECK(body["work_order"] == "WO-1");
  CHECK(body["unit_no"] == 0);
  REQUIRE(d.cmd("unit.add", {{"serial", "S-1"}}).ok);
  body = body_of(stamp_reading({"bench-1", true}, "eye", temp(1, t0), d.p.context()));
  CHECK(body["unit_no"] == 1);
  CHECK(body["serial"] == "S-1");
  CHECK_FALSE(body.contains("batch"));
}

// Issue #13 item 3: a Pi without an RTC steps its clock by hours when NTP first syncs. Hold time, step and batch
// durations and downtime run on the monotonic clock; only the timestamps move.
TEST_CASE("a wall-clock jump of +2 h during a hold step changes timestamps only") {
  Station s(Mode::process);
  REQUIRE(s.cmd("batch.start", {{"batch", "B-13"}, {"recipe", "lavender-soap"}}).ok);
  REQUIRE(s.cmd("step.next").ok);
  REQUIRE(s.cmd("step.next").ok);  // heat-oils at t0
  s.p.observe("kettle", temp(45, t0 + 1s));
  s.p.observe("kettle", temp(45, t0 + 4s));
  // NTP steps the wall clock 2 h ahead; 3 s pass on the monotonic clock.
  fake_mono = m0 + 7s;
  s.p.observe("kettle", Reading::measured("temperature", 46, "degC", t0 + 2h + 7s));
  const auto o = s.p.handle("step.next", json::object(), "mqtt", t0 + 2h + 7s);
  REQUIRE(o.ok);
  const json& heat = o.records[0].body;
  CHECK(heat["time_in_range_s"] == 6.0);  // 1 s .. 7 s on the monotonic clock, not 7206 s
  CHECK(heat["held"] == false);           // hold_s is 600
  CHECK(heat["duration_s"] == 7.0);
  CHECK(heat["ended"] == "2026-11-24T12:15:09.000Z");  // the timestamp follows the wall clock
}

TEST_CASE("a wall-clock jump neither starts nor postpones downtime") {
  Station s(Mode::discrete);
  REQUIRE(s.cmd("work_order.start", {{"work_order", "WO-13"}}, t0).ok);
  fake_mono = m0 + 10s;
  CHECK(s.p.tick(t0 + 3h).empty());  // the wall clock jumped 3 h: no downtime after 10 s
  fake_mono = m0 + 300s;
  const auto started = s.p.tick(t0 - 1h);  // and a jump back does not hold it off
  REQUIRE(started.size() == 1);
  CHECK(started[0].body["event"] == "downtime.started");
  fake_mono = m0 + 330s;
  const auto o = s.p.handle("unit.add", json::object(), "mqtt", t0 + 5h);
  CHECK(o.records[0].body["duration_s"] == 330.0);
}

TEST_CASE("monotonic instants survive a restart in the same boot and are re-anchored after a reboot") {
  Station a(Mode::process);
  REQUIRE(a.cmd("batch.start", {{"batch", "B-14"}, {"recipe", "lavender-soap"}}, t0).ok);
  fake_mono = m0 + 100s;
  const std::string saved = a.p.save();

  SECTION("same boot: the step has been running since its start, daemon downtime included") {
    Station b(Mode::process);
    fake_mono = m0 + 160s;
    REQUIRE_FALSE(b.p.restore(saved).has_value());
    REQUIRE(b.p.step_rules().has_value());
    CHECK(b.p.step_rules()->started == m0);
    CHECK(b.p.step_rules()->key == "B-14#1");
    const auto o = b.p.handle("step.next", json::object(), "mqtt", t0 + 160s);
    CHECK(o.records[0].body["duration_s"] == 160.0);
  }
  SECTION("another boot: the monotonic clock started again; the time down is not counted") {
    Station b(Mode::process);
    b.p.set_clock([] { return fake_mono; }, "boot-2");
    fake_mono = mono_time(seconds(30));
    REQUIRE_FALSE(b.p.restore(saved).has_value());
    CHECK(b.p.step_rules()->started == mono_time(seconds(30)) - 100s);
    fake_mono = mono_time(seconds(40));
    const auto o = b.p.handle("step.next", json::object(), "mqtt", t0 + 1h);
    CHECK(o.records[0].body["duration_s"] == 110.0);
  }
}

// Context values are stamped into every record that follows: bounded and printable, or refused with a reason.
TEST_CASE("context values are bounded and printable, and unknown arguments are refused, not ignored") {
  Station d(Mode::discrete);
  REQUIRE(d.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);

  const std::string long_serial(8192, 'S');
  auto o = d.cmd("unit.add", {{"serial", long_serial}});
  CHECK_FALSE(o.ok);
  CHECK(o.error == "\"serial\" is 8192 bytes long; at most 128 are allowed");
  CHECK(o.records.empty());
  CHECK(d.p.context().unit_no == 0);
  CHECK(d.cmd("unit.add", {{"serial", std::string(128, 'S')}}).ok);  // the bound itself is allowed

  CHECK(d.cmd("operator.set", {{"operator", std::string(8192, 'o')}}).error ==
        "\"operator\" is 8192 bytes long; at most 128 are allowed");
  CHECK(d.p.context().operator_id.empty());

  // A NUL, an escape, a right-to-left override (U+202E), and bytes that are not UTF-8: each refused by name.
  CHECK(d.cmd("unit.add", {{"serial", std::string("SN-\0-1", 6)}}).error ==
        "\"serial\" contains a control character (U+0000)");
  CHECK(d.cmd("unit.add", {{"serial", "SN-\x1b[2J"}}).error == "\"serial\" contains a control character (U+001B)");
  CHECK(d.cmd("unit.add", {{"serial", "SN-\xe2\x80\xae" "1-NS"}}).error ==
        "\"serial\" contains a bidirectional control (U+202E) that would change how it reads");
  CHECK(d.cmd("unit.add", {{"serial", "SN-\xff\xfe"}}).error == "\"serial\" is not valid UTF-8");
  CHECK(d.cmd("unit.add", {{"serial", "SN-\xc0\xaf"}}).error == "\"serial\" is not valid UTF-8");  // overlong '/'
  CHECK(d.cmd("unit.add", {{"serial", "SN-\xed\xa0\x80"}}).error == "\"serial\" is not valid UTF-8");  // surrogate
  CHECK(d.cmd("unit.add", {{"serial", "Seri\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80"}}).ok);  // text in any script is fine
  CHECK(d.p.context().unit_no == 2);

  // unit.add takes a serial and nothing else: a count it does not support is refused, not ignored as one unit.
  CHECK(d.cmd("unit.add", {{"count", -5}}).error == "unknown argument \"count\" for unit.add (it takes: serial)");
  CHECK(d.cmd("unit.add", {{"count", 1e18}}).error == "unknown argument \"count\" for unit.add (it takes: serial)");
  CHECK(d.cmd("work_order.end", {{"now", true}}).error == "unknown argument \"now\" for work_order.end (it takes none)");
  CHECK(d.p.context().unit_no == 2);

  Station p(Mode::process);
  REQUIRE(p.cmd("batch.start", {{"batch", "B-1"}, {"recipe", "lavender-soap"}}).ok);
  CHECK(p.cmd("lot.record", {{"lot", std::string(200, 'L')}}).error ==
        "\"lot\" is 200 bytes long; at most 128 are allowed");
  CHECK(p.cmd("batch.end", {{"note", std::string(1025, 'n')}}).error ==
        "\"note\" is 1025 bytes long; at most 1024 are allowed");
  CHECK(p.cmd("batch.end", {{"note", std::string(1024, 'n')}}).ok);
}
