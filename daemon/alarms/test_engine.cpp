// The alarm engine with reading sequences: on-delay, deadband, flapping at the limit, step change mid-alarm, ack then
// clear, clear without ack, stale and offline, a restart with an active alarm, a wall-clock jump during a hold step,
// outputs on and off. Time is given explicitly (monotonic and wall apart), so nothing here sleeps.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "alarms/engine.hpp"
#include "alarms/hold_outputs.hpp"

using namespace tally;
using namespace std::chrono;

namespace {

const wall_time w0 = wall_time(milliseconds(1795515302000));  // 2026-11-24T10:15:02Z
const mono_time m0 = mono_time(seconds(1000));

Instant at(double s) {
  const auto d = duration_cast<steady_clock::duration>(duration<double>(s));
  return {m0 + d, w0 + duration_cast<system_clock::duration>(d)};
}

Reading temp(double c) { return Reading::measured("temperature", c, "degC", w0); }

AlarmRule overheat() {
  AlarmRule r;
  r.id = "kettle-overheat";
  r.device = "kettle";
  r.above = 95;
  r.for_s = 5;
  r.deadband = 1;
  r.severity = Severity::critical;
  r.output = "buzzer";
  return r;
}

std::vector<std::string> names(const AlarmEngine::Transitions& ts) {
  std::vector<std::string> out;
  for (const auto& t : ts) out.push_back(std::string(event_name(t.kind)) + " " + t.alarm.id);
  return out;
}

// Everything the engine reports over a sequence, in order.
struct Run {
  StationContext ctx;
  AlarmEngine engine{ctx};
  std::vector<std::string> seen;
  AlarmEngine::Transitions last;
  void add(AlarmEngine::Transitions ts) {
    for (const auto& n : names(ts)) seen.push_back(n);
    last = std::move(ts);
  }
  void read(double t, double value, const std::string& device = "kettle") { add(engine.reading(device, temp(value), at(t))); }
  void tick(double t) { add(engine.tick(at(t))); }
};

RecipeStep hold_step() {
  RecipeStep s;
  s.name = "heat-oils";
  s.kind = StepKind::hold;
  s.device = "kettle";
  s.min = 43;
  s.max = 49;
  s.hold_s = 600;
  s.alarm_after_s = 10;
  s.max_s = 3600;
  return s;
}

StepRules step_rules(const RecipeStep& s, const std::string& key, double started) {
  return {key, "B-1", s, at(started).mono};
}

class FakeOutputs : public Outputs {
 public:
  std::map<std::string, std::set<std::string>> holders;
  bool has(const std::string& output) const override { return output == "buzzer"; }
  void play(const std::string&, OutputPattern) override {}
  void hold(const std::string& output, const std::string& holder, bool on) override {
    if (on) holders[output].insert(holder);
    else holders[output].erase(holder);
  }
  bool on(const std::string& output) const { return holders.count(output) && !holders.at(output).empty(); }
};

}  // namespace

TEST_CASE("a rule raises only after its condition held for for_s (on-delay), also without another reading") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  r.read(0, 96);
  r.read(3, 97);
  CHECK(r.seen.empty());
  CHECK(r.engine.next_deadline() == at(5).mono);  // the timer raises it if the value does not change again
  r.tick(4.9);
  CHECK(r.seen.empty());
  r.tick(5);
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat"});
  const Alarm& a = r.last[0].alarm;
  CHECK(a.value == 97.0);
  CHECK(a.limit == 95.0);
  CHECK(a.severity == Severity::critical);
  CHECK(a.message == "kettle 97 degC above 95 degC for 5 s");
  CHECK(a.since == at(5).wall);
}

TEST_CASE("a dip below the limit restarts the on-delay") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  r.read(0, 96);
  r.read(4, 94);  // back below: the condition did not hold for 5 s
  r.read(6, 96);
  r.tick(9);
  CHECK(r.seen.empty());
  r.tick(11);
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat"});
}

TEST_CASE("a raised rule clears only once back beyond the deadband") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  r.read(0, 96);
  r.read(5, 96);
  REQUIRE(r.seen.size() == 1);
  r.read(6, 94.5);  // below the limit but within the deadband (95 - 1)
  CHECK(r.seen.size() == 1);
  r.read(7, 93.9);
  CHECK(r.seen.size() == 1);  // back, and it must stay back clear_after_s (5 s)
  CHECK(r.engine.next_deadline() == at(12).mono);  // the timer clears it if no reading comes
  r.read(9, 93.8);
  r.tick(11.9);
  CHECK(r.seen.size() == 1);
  r.tick(12);
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat", "alarm.cleared kettle-overheat"});
  CHECK(r.last[0].reason == "back within limits");
  CHECK(r.last[0].alarm.value == 93.8);
}

TEST_CASE("a value hovering at the limit raises once and clears once") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  double t = 0;
  for (int i = 0; i < 40; ++i, t += 0.5) r.read(t, i % 2 ? 95.2 : 94.8);  // 20 s flapping: never 5 s above
  CHECK(r.seen.empty());
  for (int i = 0; i < 12; ++i, t += 0.5) r.read(t, 95.4);  // 6 s above: raised once
  for (int i = 0; i < 40; ++i, t += 0.5) r.read(t, i % 2 ? 95.2 : 94.6);  // hovering again: stays raised
  for (int i = 0; i < 12; ++i, t += 0.5) r.read(t, 93.5);  // beyond the deadband for 6 s: cleared
  for (int i = 0; i < 40; ++i, t += 0.5) r.read(t, i % 2 ? 95.2 : 94.8);
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat", "alarm.cleared kettle-overheat"});
}

// deadband = 0 and for_s = 0 with a value dithering around its limit: 98 transitions in 10 s were seen, each pushed.
TEST_CASE("a value dithering around its limit with no deadband and no on-delay raises once, and clears once it settles") {
  Run r;
  AlarmRule edge = overheat();
  edge.for_s = 0;
  edge.deadband = 0;
  r.engine.configure({edge}, {{"kettle", 0}}, at(0));
  double t = 0;
  for (int i = 0; i < 100; ++i, t += 0.1) r.read(t, i % 2 ? 94.9 : 95.1);  // 10 s at 10 Hz across the limit
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat"});
  for (int i = 0; i < 60; ++i, t += 0.1) r.read(t, 94.0);  // settled below for 6 s
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle-overheat", "alarm.cleared kettle-overheat"});
}

TEST_CASE("below limits, and both limits on one rule") {
  Run r;
  AlarmRule cold{"kettle-cold", "kettle", 60.0, 10.0, 0, 2, Severity::info, "", 0};  // no off-delay: limits only
  r.engine.configure({cold}, {{"kettle", 0}}, at(0));
  r.read(0, 9);
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised kettle-cold"});
  CHECK(r.last[0].alarm.limit == 10.0);
  CHECK(r.last[0].alarm.message == "kettle 9 degC below 10 degC");
  r.read(1, 11);  // within the deadband above the low limit
  r.read(2, 12.5);
  CHECK(r.seen.back() == "alarm.cleared kettle-cold");
  r.read(3, 61);
  CHECK(r.seen.back() == "alarm.raised kettle-cold");
  CHECK(r.last[0].alarm.limit == 60.0);
}

TEST_CASE("ack then clear, and clear without ack and an ack names who and cannot be repeated") {
  Run r;
  r.ctx.operator_id = "ana";
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  r.read(0, 97);
  r.tick(5);
  std::string error;
  r.add(r.engine.acknowledge("kettle-overheat", "bo", at(6), error));
  CHECK(error.empty());
  CHECK(r.seen.back() == "alarm.acknowledged kettle-overheat");
  CHECK(r.engine.alarms().at("kettle-overheat").state == AlarmState::acknowledged);
  CHECK(r.last[0].alarm.acknowledged_by == "bo");
  CHECK(r.engine.acknowledge("kettle-overheat", "ana", at(7), error).empty());
  CHECK(error == "alarm \"kettle-overheat\" is already acknowledged by bo");
  r.read(8, 90);
  r.tick(13);
  CHECK(r.seen.back() == "alarm.cleared kettle-overheat");
  CHECK(r.engine.alarms().empty());
  error.clear();
  CHECK(r.engine.acknowledge("kettle-overheat", "ana", at(9), error).empty());
  CHECK(error == "no active alarm \"kettle-overheat\"");

  // Without an ack: active -> cleared.
  r.read(14, 97);
  r.tick(19);
  r.read(20, 90);
  r.tick(25);
  CHECK(std::vector<std::string>(r.seen.end() - 2, r.seen.end()) ==
        std::vector<std::string>{"alarm.raised kettle-overheat", "alarm.cleared kettle-overheat"});
}

TEST_CASE("a hold step out of range for alarm_after_s raises <step>.range, cleared back inside") {
  Run r;
  r.ctx.batch = "B-1";
  r.ctx.step = "heat-oils";
  r.ctx.step_no = 3;
  r.engine.configure({}, {{"kettle", 0}}, at(0));
  r.add(r.engine.step(step_rules(hold_step(), "B-1#3", 0), at(0)));
  r.read(1, 45);
  r.read(2, 51);
  r.tick(11.9);
  CHECK(r.seen.empty());
  r.tick(12);
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised heat-oils.range"});
  const Alarm& a = r.last[0].alarm;
  CHECK(a.value == 51.0);
  CHECK(a.limit == 49.0);
  CHECK(a.message == "kettle 51 degC above 49 degC in step heat-oils (range 43..49) for 10 s");
  CHECK(a.context.step == "heat-oils");
  CHECK(a.context.batch == "B-1");
  r.read(13, 48.9);
  CHECK(r.seen.back() == "alarm.cleared heat-oils.range");
  CHECK(r.last[0].reason == "back in range");
}

TEST_CASE("a step change mid-alarm clears the old step's range alarm and the next step's rules apply from its start") {
  Run r;
  r.engine.configure({}, {{"kettle", 0}}, at(0));
  r.add(r.engine.step(step_rules(hold_step(), "B-1#3", 0), at(0)));
  r.read(1, 30);
  r.tick(11);
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised heat-oils.range"});
  RecipeStep cool = hold_step();
  cool.name = "cool";
  cool.min = 20;
  cool.max = 35;
  cool.max_s.reset();
  r.add(r.engine.step(step_rules(cool, "B-1#4", 20), at(20)));
  REQUIRE(r.seen.size() == 2);
  CHECK(r.seen[1] == "alarm.cleared heat-oils.range");
  CHECK(r.last[0].reason == "step ended");
  r.read(21, 30);  // in range for the new step
  r.tick(40);
  CHECK(r.seen.size() == 2);
  // The same step again (a restart resumes it) changes nothing.
  r.read(41, 40);
  r.add(r.engine.step(step_rules(cool, "B-1#4", 20), at(45)));
  r.tick(51);
  CHECK(r.seen.back() == "alarm.raised cool.range");
}

TEST_CASE("overrun after max_s, tolerance at step completion, both cleared when their step or batch ends") {
  Run r;
  r.engine.configure({}, {{"kettle", 0}, {"bench-scale", 0}}, at(0));
  RecipeStep weigh;
  weigh.name = "weigh-oils";
  weigh.kind = StepKind::weigh;
  weigh.device = "bench-scale";
  weigh.target = 3200;
  weigh.tolerance = 15;
  r.add(r.engine.tolerance(weigh, "B-1", 3230.0, "g", at(1)));
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised weigh-oils.tolerance"});
  CHECK(r.last[0].alarm.limit == 3215.0);
  CHECK(r.last[0].alarm.message == "step weigh-oils weighed 3230 g, outside 3200 ± 15");
  r.add(r.engine.step(step_rules(hold_step(), "B-1#2", 2), at(2)));
  CHECK(r.seen.size() == 1);  // the tolerance alarm stays with its batch
  CHECK(r.engine.next_deadline() == at(3602).mono);
  r.tick(3602);
  CHECK(r.seen.back() == "alarm.raised heat-oils.overrun");
  CHECK(r.last[0].alarm.value == 3600.0);
  CHECK(r.last[0].alarm.limit == 3600.0);
  r.add(r.engine.step(std::nullopt, at(3700)));
  CHECK(std::set<std::string>(r.seen.begin() + 2, r.seen.end()) ==
        std::set<std::string>{"alarm.cleared heat-oils.overrun", "alarm.cleared weigh-oils.tolerance"});
}

TEST_CASE("a sensor fault raises <device>.fault, cleared by the next valid reading") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 0}}, at(0));
  r.read(0, 97);
  r.add(r.engine.reading("kettle", Reading::faulted("temperature", "degC", "open-circuit", w0), at(1)));
  CHECK(r.seen == std::vector<std::string>{"alarm.raised kettle.fault"});
  CHECK(r.last[0].alarm.message == "kettle reports a sensor fault: open-circuit");
  r.tick(10);  // the fault interrupted the on-delay of the overheat rule
  CHECK(r.seen.size() == 1);
  r.read(11, 50);
  CHECK(r.seen.back() == "alarm.cleared kettle.fault");
}

TEST_CASE("a device that stops sending goes stale after stale_s and offline and online") {
  Run r;
  r.engine.configure({}, {{"kettle", 30}}, at(0));
  r.add(r.engine.device_state("kettle", true, "", at(0)));
  r.read(10, 40);
  CHECK(r.engine.next_deadline() == at(40).mono);
  r.tick(39);
  CHECK(r.seen.empty());
  r.tick(40);
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised kettle.stale"});
  CHECK(r.last[0].alarm.limit == 30.0);
  r.tick(80);  // once
  CHECK(r.seen.size() == 1);
  r.read(81, 41);
  CHECK(r.seen.back() == "alarm.cleared kettle.stale");
  CHECK(r.last[0].reason == "reading received");

  r.add(r.engine.device_state("kettle", false, "No such file or directory", at(90)));
  CHECK(r.seen.back() == "alarm.raised kettle.offline");
  CHECK(r.last[0].alarm.message == "kettle is offline: No such file or directory");
  CHECK_FALSE(r.engine.next_deadline().has_value());  // offline: not also stale
  r.tick(500);
  CHECK(r.seen.back() == "alarm.raised kettle.offline");
  r.add(r.engine.device_state("kettle", true, "", at(510)));
  CHECK(r.seen.back() == "alarm.cleared kettle.offline");
  CHECK(r.engine.next_deadline() == at(540).mono);  // staleness counts from the reopen
}

TEST_CASE("buffer.high above 80 % of max_mb, cleared below 75 %") {
  Run r;
  const std::uint64_t mb = 1 << 20;
  r.add(r.engine.buffer_usage(80 * mb / 100 * 4, 4 * mb, at(0)));
  CHECK(r.seen.empty());
  r.add(r.engine.buffer_usage(81 * mb / 100 * 4, 4 * mb, at(1)));
  REQUIRE(r.seen == std::vector<std::string>{"alarm.raised buffer.high"});
  CHECK(r.last[0].alarm.value == 81.0);
  CHECK(r.last[0].alarm.limit == 80.0);
  r.add(r.engine.buffer_usage(78 * mb / 100 * 4, 4 * mb, at(2)));
  CHECK(r.seen.size() == 1);
  r.add(r.engine.buffer_usage(70 * mb / 100 * 4, 4 * mb, at(3)));
  CHECK(r.seen.back() == "alarm.cleared buffer.high");
}

TEST_CASE("system alarms raised elsewhere: once while active, cleared by name") {
  Run r;
  r.add(r.engine.raise({"buffer.disk", Severity::critical, "records cannot be written: disk full", "", 3.0, std::nullopt}, at(0)));
  r.add(r.engine.raise({"buffer.disk", Severity::critical, "records cannot be written: disk full", "", 5.0, std::nullopt}, at(1)));
  CHECK(r.seen == std::vector<std::string>{"alarm.raised buffer.disk"});
  CHECK(r.engine.alarms().at("buffer.disk").value == 5.0);
  r.add(r.engine.clear("buffer.disk", "writing again", at(2)));
  CHECK(r.seen.back() == "alarm.cleared buffer.disk");
  CHECK(r.engine.clear("buffer.disk", "again", at(3)).empty());
}

TEST_CASE("a restart with an active alarm keeps it active and does not raise it twice") {
  StationContext ctx;
  ctx.batch = "B-1";
  AlarmEngine before(ctx);
  before.configure({overheat()}, {{"kettle", 0}}, at(0));
  before.reading("kettle", temp(97), at(0));
  REQUIRE(before.tick(at(5)).size() == 1);
  RecipeStep pour;
  pour.name = "pour-moulds";
  before.step(step_rules(pour, "B-1#4", 0), at(5));
  const std::string saved = before.save();

  StationContext ctx2;
  AlarmEngine after(ctx2);
  REQUIRE_FALSE(after.restore(saved).has_value());
  CHECK(after.configure({overheat()}, {{"kettle", 0}}, at(100)).empty());
  CHECK(after.step(step_rules(pour, "B-1#4", 0), at(100)).empty());  // the same step: not "ended"
  CHECK(after.reading("kettle", temp(98), at(101)).empty());
  CHECK(after.tick(at(200)).empty());
  const Alarm& a = after.alarms().at("kettle-overheat");
  CHECK(a.state == AlarmState::active);
  CHECK(a.since == at(5).wall);
  CHECK(a.context.batch == "B-1");
  CHECK(after.reading("kettle", temp(90), at(201)).empty());  // back: cleared after clear_after_s
  const auto cleared = after.tick(at(206));
  REQUIRE(cleared.size() == 1);
  CHECK(cleared[0].kind == AlarmTransition::Kind::cleared);

  // A rule removed from the configuration meanwhile: its alarm is cleared, not left forever.
  AlarmEngine removed(ctx2);
  REQUIRE_FALSE(removed.restore(saved).has_value());
  const auto gone = removed.configure({}, {{"kettle", 0}}, at(100));
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].reason == "no longer configured");
  CHECK(removed.restore("{not json").has_value());
}

TEST_CASE("an alarm saved before unit_no keeps its unit count (the saved \"unit\" migrates)") {
  StationContext ctx;
  ctx.mode = Mode::discrete;
  ctx.work_order = "WO-7";
  ctx.unit_no = 12;
  AlarmEngine before(ctx);
  before.configure({overheat()}, {{"kettle", 0}}, at(0));
  before.reading("kettle", temp(97), at(0));
  REQUIRE(before.tick(at(5)).size() == 1);
  std::string saved = before.save();
  // The document as an older tallyd wrote it: the unit count under "unit".
  const auto at_key = saved.find("\"unit_no\"");
  REQUIRE(at_key != std::string::npos);
  saved.replace(at_key, 9, "\"unit\"");
  REQUIRE(saved.find("\"unit_no\"") == std::string::npos);

  StationContext now;
  AlarmEngine after(now);
  REQUIRE_FALSE(after.restore(saved).has_value());
  const Alarm& a = after.alarms().at("kettle-overheat");
  CHECK(a.context.work_order == "WO-7");
  CHECK(a.context.unit_no == 12);
}

TEST_CASE("a wall-clock jump during a hold step neither raises nor hides an alarm") {
  Run r;
  r.engine.configure({overheat()}, {{"kettle", 30}}, at(0));
  r.add(r.engine.device_state("kettle", true, "", at(0)));
  r.add(r.engine.step(step_rules(hold_step(), "B-1#3", 0), at(0)));
  r.read(1, 45);
  // NTP steps the wall clock 2 h ahead while 2 s pass: no stale, no overrun, no range alarm.
  const Instant jumped{at(3).mono, at(3).wall + 2h};
  r.add(r.engine.reading("kettle", temp(46), jumped));
  r.add(r.engine.tick(jumped));
  CHECK(r.seen.empty());
  // And out of range: raised after alarm_after_s of monotonic time, whatever the wall clock says.
  r.add(r.engine.reading("kettle", temp(52), {at(4).mono, at(4).wall - 3h}));
  r.add(r.engine.tick({at(13).mono, at(13).wall + 5h}));
  CHECK(r.seen.empty());
  r.add(r.engine.tick({at(14).mono, at(14).wall + 5h}));
  CHECK(r.seen == std::vector<std::string>{"alarm.raised heat-oils.range"});
  CHECK(r.last[0].alarm.since == at(14).wall + 5h);  // the timestamp is the wall clock's
}

TEST_CASE("an output is held on while an alarm naming it is active and unacknowledged") {
  Run r;
  FakeOutputs outputs;
  AlarmRule second = overheat();
  second.id = "kettle-way-too-hot";
  second.above = 120;
  second.for_s = 0;
  r.engine.configure({overheat(), second}, {{"kettle", 0}}, at(0));
  const auto apply = [&] {
    for (const auto& t : r.last) hold_outputs(outputs, t);
  };
  r.read(0, 97);
  apply();
  CHECK_FALSE(outputs.on("buzzer"));  // on-delay running
  r.tick(5);
  apply();
  CHECK(outputs.on("buzzer"));
  r.read(6, 125);  // a second alarm on the same output
  apply();
  std::string error;
  r.add(r.engine.acknowledge("kettle-overheat", "ana", at(7), error));
  apply();
  CHECK(outputs.on("buzzer"));  // still held by kettle-way-too-hot
  r.add(r.engine.acknowledge("kettle-way-too-hot", "ana", at(8), error));
  apply();
  CHECK_FALSE(outputs.on("buzzer"));  // acknowledged: silenced, though both are still active
  CHECK(r.engine.alarms().size() == 2);
  r.read(9, 130);
  apply();
  CHECK_FALSE(outputs.on("buzzer"));  // not raised again
  r.read(10, 50);
  r.tick(15);  // back for clear_after_s
  apply();
  CHECK(r.engine.alarms().empty());
  r.read(16, 121);
  apply();
  CHECK(outputs.on("buzzer"));  // a new alarm sounds again
  r.read(17, 50);
  r.tick(22);
  apply();
  CHECK_FALSE(outputs.on("buzzer"));  // cleared without an ack: released
}
