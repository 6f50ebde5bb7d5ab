// InputRouter: what a reading, a scan, a pulse or a device failure from a scripted driver becomes, as the broker
// and the operator see it (records, command events, retained device state, the scanner's beeps).
#include "api/device_error.hpp"
#include "station/test_station_rig.hpp"

using namespace tally;
using namespace tally::test;

namespace {

const std::string kDevices = R"(
[[devices]]
name = "kettle"
driver = "simulated"

[[devices]]
name = "scanner"
driver = "simulated"
feedback = "buzzer"

[[devices]]
name = "eye"
driver = "simulated"
feedback = "light"

[[scan_rules]]
pattern = '^WO:(.+)$'
action = "work_order.start"
fields = ["work_order"]
)";

Pulse pulse(PulseKind kind, std::int64_t count) {
  return Pulse{kind, count, std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
}

}  // namespace

TEST_CASE("a reading becomes a record on B/readings/<device> with the context, and the device's retained state") {
  StationRig r(kDevices);
  r.start();
  r.connect();
  r.feed("kettle", [](InputSink& sink) { sink.reading(Reading::measured("temperature", 71.5, "degC")); });
  r.command(R"({"id":1,"cmd":"work_order.start","work_order":"WO-7"})");
  r.feed("kettle", [](InputSink& sink) { sink.reading(Reading::measured("temperature", 72.5, "degC")); });
  const auto readings = r.on("readings/kettle");
  REQUIRE(readings.size() == 2);
  CHECK(readings[0]["device"] == "kettle");
  CHECK(readings[0]["quantity"] == "temperature");
  CHECK(readings[0]["value"] == 71.5);
  CHECK(readings[0]["unit"] == "degC");
  CHECK(readings[0]["station"] == "s1");
  CHECK_FALSE(readings[0].contains("work_order"));
  CHECK(readings[1]["value"] == 72.5);
  CHECK(readings[1]["work_order"] == "WO-7");
  // "unit" stays the unit of measure during a work order; the unit count is "unit_no".
  CHECK(readings[1]["unit"] == "degC");
  CHECK(readings[1]["unit_no"] == 0);
  bool online_event = false;
  for (const auto& e : r.events("device.online")) online_event = online_event || e["device"] == "kettle";
  CHECK(online_event);
  // The device's retained state is published when it goes online or offline, and with every connection.
  CHECK(json::parse(r.retained_payload("devices/kettle/state").value())["online"] == true);
  r.link->lose();
  r.publisher.start();
  r.link->accept_connect();
  const json state = json::parse(r.retained_payload("devices/kettle/state").value());
  CHECK(state["online"] == true);
  CHECK(state["last_value"] == 72.5);
}

TEST_CASE("a scan that matches a rule is recorded first, then drives its command with the scanner as source") {
  StationRig r(kDevices);
  r.start();
  r.connect();
  r.feed("scanner", [](InputSink& sink) { sink.scan(Scan{"WO:A-1", "", std::chrono::system_clock::now()}); });
  const auto scans = r.on("scans");
  REQUIRE(scans.size() == 1);
  CHECK(scans[0]["code"] == "WO:A-1");
  CHECK(scans[0]["device"] == "scanner");
  CHECK(scans[0]["valid"] == true);
  const auto started = r.events("work_order.started");
  REQUIRE(started.size() == 1);
  CHECK(started[0]["work_order"] == "A-1");
  CHECK(scans[0]["seq"].get<long long>() < started[0]["seq"].get<long long>());
  auto commands = r.events("command");
  REQUIRE(commands.size() == 1);
  CHECK(commands[0]["cmd"] == "work_order.start");
  CHECK(commands[0]["source"] == "scanner");
  CHECK(commands[0]["ok"] == true);
  REQUIRE(r.outputs.played.size() == 1);
  CHECK(r.outputs.played[0] == std::pair<std::string, OutputPattern>{"buzzer", OutputPattern::accepted});

  // The same rule while a work order is active: refused, recorded as such, and the scanner beeps "refused".
  r.feed("scanner", [](InputSink& sink) { sink.scan(Scan{"WO:A-2", "", std::chrono::system_clock::now()}); });
  commands = r.events("command");
  REQUIRE(commands.size() == 2);
  CHECK(commands[1]["ok"] == false);
  CHECK(r.events("work_order.started").size() == 1);
  REQUIRE(r.outputs.played.size() == 2);
  CHECK(r.outputs.played[1] == std::pair<std::string, OutputPattern>{"buzzer", OutputPattern::refused});
}

TEST_CASE("unit pulses count units of the active work order, and are refused without one") {
  StationRig r(kDevices);
  r.start();
  r.connect();
  r.feed("eye", [](InputSink& sink) { sink.pulse(pulse(PulseKind::units, 1)); });
  CHECK(r.on("units").empty());
  REQUIRE(r.events("command").size() == 1);
  CHECK(r.events("command")[0]["source"] == "eye");
  CHECK(r.events("command")[0]["ok"] == false);
  CHECK(r.outputs.played.back() == std::pair<std::string, OutputPattern>{"light", OutputPattern::refused});

  r.command(R"({"id":1,"cmd":"work_order.start","work_order":"WO-7"})");
  r.feed("eye", [](InputSink& sink) { sink.pulse(pulse(PulseKind::units, 2)); });
  const auto units = r.on("units");
  REQUIRE(units.size() == 2);
  CHECK(units[0]["source"] == "eye");
  CHECK(units[0]["status"] == "good");
  CHECK(units[1]["work_order"] == "WO-7");
  CHECK(r.outputs.played.back() == std::pair<std::string, OutputPattern>{"light", OutputPattern::accepted});
}

TEST_CASE("a pulse counter's running total is a reading, and the total survives a restart") {
  TempDir dir;
  {
    StationRig r(kDevices, dir.file("buffer.db"));
    r.start();
    r.connect();
    r.feed("eye", [](InputSink& sink) { sink.pulse(pulse(PulseKind::pulses, 3)); });
    const auto readings = r.on("readings/eye");
    REQUIRE(readings.size() == 1);
    CHECK(readings[0]["quantity"] == "pulses");
    CHECK(readings[0]["value"] == 3);
  }
  StationRig r(kDevices, dir.file("buffer.db"));
  r.start();
  r.connect();
  r.feed("eye", [](InputSink& sink) { sink.pulse(pulse(PulseKind::pulses, 2)); });
  const auto readings = r.on("readings/eye");
  REQUIRE_FALSE(readings.empty());
  CHECK(readings.back()["value"] == 5);
}

TEST_CASE("a device that fails is offline in an event and in its retained state, with the driver's error") {
  StationRig r(kDevices);
  r.start();
  r.connect();
  r.feed("kettle", [](InputSink&) { throw device_error(EIO, "read /dev/ttyUSB0: Input/output error"); });
  const auto offline = r.events("device.offline");
  REQUIRE(offline.size() == 1);
  CHECK(offline[0]["device"] == "kettle");
  CHECK(offline[0]["error"].get<std::string>().find("Input/output error") != std::string::npos);
  const json state = json::parse(r.retained_payload("devices/kettle/state").value());
  CHECK(state["online"] == false);
  CHECK(state["error"].get<std::string>().find("Input/output error") != std::string::npos);
}
