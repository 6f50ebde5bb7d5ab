// StationAlarms and RefusedRecords: what an alarm transition becomes for the people watching (records on B/events,
// the retained B/alarms/<id>, the buzzer it holds), acknowledged with alarm.ack, kept across a restart.
#include "station/test_station_rig.hpp"

using namespace tally;
using namespace tally::test;

namespace {

const std::string kKettleAlarm = R"(
[[devices]]
name = "kettle"
driver = "simulated"

[[alarms]]
id = "kettle-hot"
device = "kettle"
above = 90
output = "buzzer"
clear_after_s = 0  # these tests follow a transition's path; the off-delay is the engine's (alarms/test_engine.cpp)
)";

void temperature(StationRig& r, double value) {
  r.feed("kettle", [value](InputSink& sink) { sink.reading(Reading::measured("temperature", value, "degC")); });
}

}  // namespace

TEST_CASE("an alarm is raised, acknowledged and cleared: records, the retained B/alarms/<id> and the buzzer") {
  StationRig r(kKettleAlarm);
  r.start();
  r.connect();
  temperature(r, 95);
  const auto raised = r.events("alarm.raised");
  REQUIRE(raised.size() == 1);
  CHECK(raised[0]["alarm"] == "kettle-hot");
  CHECK(raised[0]["state"] == "active");
  CHECK(raised[0]["device"] == "kettle");
  CHECK(raised[0]["value"] == 95);
  CHECK(raised[0]["limit"] == 90);
  json retained = json::parse(r.retained_payload("alarms/kettle-hot").value());
  CHECK(retained["id"] == "kettle-hot");
  CHECK(retained["state"] == "active");
  CHECK(r.outputs.on("buzzer"));

  r.command(R"({"id":"k1","cmd":"alarm.ack","alarm":"kettle-hot","by":"ann"})");
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0] == json{{"id", "k1"}, {"ok", true}, {"alarm", "kettle-hot"}, {"state", "acknowledged"},
                               {"by", "ann"}});
  const auto acknowledged = r.events("alarm.acknowledged");
  REQUIRE(acknowledged.size() == 1);
  CHECK(acknowledged[0]["by"] == "ann");
  retained = json::parse(r.retained_payload("alarms/kettle-hot").value());
  CHECK(retained["state"] == "acknowledged");
  CHECK(retained["acknowledged_by"] == "ann");
  CHECK_FALSE(r.outputs.on("buzzer"));

  temperature(r, 80);
  REQUIRE(r.events("alarm.cleared").size() == 1);
  CHECK(r.events("alarm.cleared")[0]["state"] == "cleared");
  CHECK(r.retained_payload("alarms/kettle-hot") == "");  // the retained message is deleted

  r.command(R"({"id":"k2","cmd":"alarm.ack","alarm":"kettle-hot"})");
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1]["ok"] == false);
}

TEST_CASE("an active alarm survives a restart: published again, the buzzer held, never raised twice") {
  TempDir dir;
  long long last_seq = 0;
  {
    StationRig r(kKettleAlarm, dir.file("buffer.db"));
    r.start();
    r.connect();
    temperature(r, 95);
    REQUIRE(r.events("alarm.raised").size() == 1);
    last_seq = r.records().back().second["seq"].get<long long>();
  }
  StationRig r(kKettleAlarm, dir.file("buffer.db"));
  r.start();
  CHECK(r.outputs.on("buzzer"));
  r.connect();
  CHECK(json::parse(r.retained_payload("alarms/kettle-hot").value())["state"] == "active");
  temperature(r, 96);
  for (const auto& e : r.events("alarm.raised")) CHECK(e["seq"].get<long long>() <= last_seq);
}

TEST_CASE("an alarm cleared while the broker is away has its retained message deleted at the next connection") {
  StationRig r(kKettleAlarm);
  r.start();
  r.connect();
  temperature(r, 95);
  r.link->lose();
  temperature(r, 80);
  REQUIRE(r.events("alarm.cleared").empty());  // not delivered yet: the broker is away
  r.publisher.start();
  r.link->accept_connect();
  r.link->ack_all();
  CHECK(r.events("alarm.cleared").size() == 1);
  CHECK(r.retained_payload("alarms/kettle-hot") == "");
}

TEST_CASE("records the broker refuses are reported in a publish.refused event and raise the alarm") {
  StationRig r(kKettleAlarm);
  r.start();
  r.connect();
  r.refused.refused(5, "tally/s1/readings/kettle", 0x87, "reason 135 (Not authorized)");
  r.end_of_iteration();
  const auto refused = r.events("publish.refused");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0]["topic"] == "tally/s1/readings/kettle");
  CHECK(refused[0]["reason"] == 0x87);
  CHECK(refused[0]["seqs"] == json::array({5}));
  CHECK(json::parse(r.retained_payload("alarms/publish.refused").value())["state"] == "active");
  // The next refusal within report_interval waits for the next report; B/events refused is only logged.
  r.refused.refused(6, "tally/s1/readings/kettle", 0x87, "reason 135 (Not authorized)");
  r.refused.refused(7, "tally/s1/events", 0x87, "reason 135 (Not authorized)");
  r.end_of_iteration();
  CHECK(r.events("publish.refused").size() == 1);
}
