#include <catch2/catch.hpp>

#include <limits>
#include <vector>

#include "record/stamp.hpp"

using namespace tally;
using namespace std::chrono;

namespace {
wall_time at(long long ms) { return wall_time(milliseconds(ms)); }
}  // namespace

TEST_CASE("timestamps are UTC ISO 8601 with milliseconds") {
  CHECK(format_ts(at(1795515302123)) == "2026-11-24T10:15:02.123Z");
  CHECK(format_ts(at(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(format_ts(at(-1)) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("a reading is stamped with every field of the contract") {
  StationContext ctx;
  ctx.mode = Mode::process;
  ctx.batch = "B-17";
  ctx.recipe = "lavender-soap";
  ctx.step = "heat-oils";
  ctx.step_no = 2;
  ctx.operator_id = "ana";
  const Reading r = Reading::measured("temperature", 45.5, "degC", at(1795515302123));
  const Record rec = stamp_reading({"bench-1", true}, "kettle", r, ctx);
  CHECK(rec.kind == RecordKind::reading);
  CHECK(rec.topic == "readings/kettle");
  const auto payload = json::parse(serialize_with_seq(42, rec));
  CHECK(payload["seq"] == 42);
  CHECK(payload["ts"] == "2026-11-24T10:15:02.123Z");
  CHECK(payload["station"] == "bench-1");
  CHECK(payload["device"] == "kettle");
  CHECK(payload["quantity"] == "temperature");
  CHECK(payload["value"] == 45.5);
  CHECK(payload["unit"] == "degC");
  CHECK(payload["batch"] == "B-17");
  CHECK(payload["recipe"] == "lavender-soap");
  CHECK(payload["step"] == "heat-oils");
  CHECK(payload["step_no"] == 2);
  CHECK(payload["operator"] == "ana");
  CHECK_FALSE(payload.contains("clock"));
  CHECK_FALSE(payload.contains("work_order"));
  CHECK_FALSE(payload.contains("stable"));
  CHECK_FALSE(payload.contains("fault"));
  // seq leads the payload, for people reading the stream
  CHECK(serialize_with_seq(42, rec).rfind("{\"seq\":42,", 0) == 0);
}

TEST_CASE("a faulted reading has a null value and the fault, and scales carry stable") {
  const Reading r = Reading::faulted("temperature", "degC", "open-circuit", at(0));
  auto p = json::parse(serialize_with_seq(1, stamp_reading({"s", true}, "tc", r, {})));
  CHECK(p["value"].is_null());
  CHECK(p["fault"] == "open-circuit");

  Reading w = Reading::measured("mass", 100.25, "g", at(0));
  w.stable = false;
  p = json::parse(serialize_with_seq(2, stamp_reading({"s", true}, "scale", w, {})));
  CHECK(p["stable"] == false);
  CHECK(p["value"] == 100.25);
}

TEST_CASE("discrete context and an unsynchronised clock are stamped") {
  StationContext ctx;
  ctx.mode = Mode::discrete;
  ctx.work_order = "WO-9";
  ctx.unit_no = 0;
  ctx.batch = "ignored in discrete mode";
  auto p = json::parse(serialize_with_seq(1, stamp_reading({"s", false}, "eye", Reading::measured("pulses", 1.0, ""), ctx)));
  CHECK(p["clock"] == "unsynced");
  CHECK(p["work_order"] == "WO-9");
  CHECK(p["unit_no"] == 0);
  CHECK(p["unit"] == "");  // the reading's unit of measure (pulses have none), never the unit count
  CHECK_FALSE(p.contains("serial"));
  CHECK_FALSE(p.contains("batch"));

  ctx.unit_no = 3;
  ctx.serial = "SN-3";
  p = json::parse(serialize_with_seq(2, stamp_reading({"s", true}, "eye", Reading::measured("pulses", 1.0, ""), ctx)));
  CHECK(p["unit_no"] == 3);
  CHECK(p["serial"] == "SN-3");

  // A scale's weight during a work order keeps its unit of measure beside the unit count.
  p = json::parse(serialize_with_seq(3, stamp_reading({"s", true}, "scale", Reading::measured("mass", 12.5, "g"), ctx)));
  CHECK(p["unit"] == "g");
  CHECK(p["unit_no"] == 3);
}

TEST_CASE("events carry their fields and the context") {
  StationContext ctx;
  ctx.operator_id = "bo";
  const Record rec = make_event({"bench-1", true}, "device.offline", at(5), {{"device", "kettle"}, {"error", "EIO"}}, ctx);
  CHECK(rec.kind == RecordKind::event);
  CHECK(rec.topic == "events");
  auto p = json::parse(serialize_with_seq(7, rec.body));
  CHECK(p["seq"] == 7);
  CHECK(p["event"] == "device.offline");
  CHECK(p["device"] == "kettle");
  CHECK(p["error"] == "EIO");
  CHECK(p["operator"] == "bo");
  CHECK(p["ts"] == "1970-01-01T00:00:00.005Z");
}

// stamp_reading writes readings as text without building a json document; whatever the fields hold, that text must
// read the same as the json path's (the contract's payload), and strings that need escaping take the json path.
TEST_CASE("a reading written as text reads the same as the json path, for every kind of field") {
  std::vector<StationContext> contexts(6);
  contexts[1].batch = "B-17";
  contexts[1].recipe = "lavender-soap";
  contexts[1].step = "heat-oils";
  contexts[1].step_no = 2;
  contexts[1].operator_id = "ana";
  contexts[2].batch = "B-18";  // a batch between steps: no step, no step_no
  contexts[3].mode = Mode::discrete;
  contexts[3].work_order = "WO-9";
  contexts[3].unit_no = 12;
  contexts[3].serial = "SN-12";
  contexts[4].mode = Mode::discrete;  // no work order: no discrete context
  contexts[4].operator_id = "7";
  contexts[5].batch = "tab\there";  // needs escaping: the json path
  contexts[5].operator_id = "caf\xc3\xa9";

  std::vector<Reading> readings;
  for (double v : {0.0, -0.0, 20.0, 45.5, -12.25, 1e-7, 123456789012345678.0, 1e300, 0.1 + 0.2, 3.0e-5,
                   std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()})
    readings.push_back(Reading::measured("temperature", v, "degC", at(1795515302123)));
  Reading scale = Reading::measured("mass", 100.25, "g", at(-1));
  scale.stable = true;
  readings.push_back(scale);
  scale.stable = false;
  readings.push_back(scale);
  readings.push_back(Reading::faulted("temperature", "degC", "open-circuit", at(0)));
  readings.push_back(Reading::measured("mass", 1.5, "\xc2\xb0" "C", at(0)));  // a unit outside ASCII: the json path
  readings.push_back(Reading::measured("say \"hi\"", 1.5, "", at(0)));

  int as_text = 0;
  for (const auto& ctx : contexts)
    for (const auto& r : readings)
      for (const StampInfo& info : {StampInfo{"bench-1", true}, StampInfo{"bench-1", false}}) {
        const Record fast = stamp_reading(info, "kettle", r, ctx);
        const Record slow = stamp_reading_json(info, "kettle", r, ctx);
        CHECK(fast.topic == slow.topic);
        CHECK(fast.kind == RecordKind::reading);
        // The same text to the byte: key order, number digits ("20.0"), null for what is not finite.
        CHECK(serialize_with_seq(7, fast) == serialize_with_seq(7, slow.body));
        as_text += fast.text.empty() ? 0 : 1;
      }
  CHECK(as_text == 5 * 15 * 2);  // every context but the one that needs escaping, every reading but the last two
}
