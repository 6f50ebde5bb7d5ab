// Alarms end to end: a real mosquitto, tallyd reading a kettle on a pty, a subscriber seeing what an owner's
// dashboard sees, and a local HTTP endpoint standing in for a phone's push service.
#include <catch2/catch.hpp>

#include <fstream>

#include "harness.hpp"
#include "support/http_sink.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

const std::string recipe = R"(
[[recipes]]
id = "soap"
name = "Soap"
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  device = "kettle"
  min = 43.0
  max = 49.0
  hold_s = 600
  alarm_after_s = 1
  max_s = 3600
  [[recipes.steps]]
  name = "pour-moulds"
  kind = "manual"
)";

const std::string overheat_rule = R"(
[[alarms]]
id = "kettle-overheat"
device = "kettle"
above = 95.0
deadband = 1.0
severity = "critical"
)";

std::vector<json> alarm_events(const std::vector<Message>& all, const std::string& alarm) {
  std::vector<json> out;
  for (const auto& r : unique_records(all, base + "/events"))
    if (r["event"].get<std::string>().rfind("alarm.", 0) == 0 && r["alarm"] == alarm) out.push_back(r);
  return out;
}

std::vector<std::string> names(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e["event"]);
  return out;
}

// The last message on the alarm's retained topic: null when none came or it was deleted (empty payload).
json retained_alarm(const std::vector<Message>& all, const std::string& alarm) {
  return last_on(all, base + "/alarms/" + alarm);
}

bool deleted(const std::vector<Message>& all, const std::string& alarm) {
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->topic == base + "/alarms/" + alarm) return it->payload.empty();
  return false;
}

}  // namespace

TEST_CASE_METHOD(WithStation,
                 "a hold step driven out of range raises <step>.range with its retained payload and ack and return clear it") {
  Pty kettle(dir.file("ttyKettle"));
  tallyd.start(config(serial_device("kettle", kettle.link())) + recipe);
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 1; }));
  REQUIRE(send(sub, "0", "operator.set", {{"operator", "ana"}})["ok"] == true);
  REQUIRE(send(sub, "1", "batch.start", {{"batch", "B-7"}, {"recipe", "soap"}})["ok"] == true);
  kettle.write("T=45\r\n");
  kettle.write("T=52.5\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return !retained_alarm(all, "heat-oils.range").is_null(); }));
  const json retained = retained_alarm(sub.messages(), "heat-oils.range");
  INFO(retained.dump());
  CHECK(retained["id"] == "heat-oils.range");
  CHECK(retained["state"] == "active");
  CHECK(retained["severity"] == "warning");
  CHECK(retained["message"] == "kettle 52.5 degC above 49 degC in step heat-oils (range 43..49) for 1 s");
  CHECK(retained["device"] == "kettle");
  CHECK(retained["value"] == 52.5);
  CHECK(retained["limit"] == 49.0);
  CHECK(retained["since"].get<std::string>().size() == 24);
  CHECK(retained["batch"] == "B-7");
  CHECK(retained["step"] == "heat-oils");
  CHECK(retained["step_no"] == 1);
  CHECK(retained["operator"] == "ana");
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "heat-oils.range").size() == 1; }));
  const json raised = alarm_events(sub.messages(), "heat-oils.range")[0];
  CHECK(raised["event"] == "alarm.raised");
  CHECK(raised["state"] == "active");
  CHECK(raised["value"] == 52.5);
  CHECK(raised["limit"] == 49.0);
  CHECK(raised["step"] == "heat-oils");

  const json ack = send(sub, "2", "alarm.ack", {{"alarm", "heat-oils.range"}});
  CHECK(ack["ok"] == true);
  CHECK(ack["by"] == "ana");  // the operator, when "by" is not given
  REQUIRE(sub.wait_for([](const auto& all) {
    return retained_alarm(all, "heat-oils.range")["state"] == "acknowledged";
  }));
  CHECK(retained_alarm(sub.messages(), "heat-oils.range")["acknowledged_by"] == "ana");
  CHECK(send(sub, "3", "alarm.ack", {{"alarm", "heat-oils.range"}, {"by", "bo"}})["error"] ==
        "alarm \"heat-oils.range\" is already acknowledged by ana");
  CHECK(send(sub, "4", "alarm.ack", {{"alarm", "nothing"}})["error"] == "no active alarm \"nothing\"");

  kettle.write("T=46\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "heat-oils.range").size() == 3; }));
  REQUIRE(sub.wait_for([](const auto& all) { return deleted(all, "heat-oils.range"); }));
  const auto seen = alarm_events(sub.messages(), "heat-oils.range");
  CHECK(names(seen) == std::vector<std::string>{"alarm.raised", "alarm.acknowledged", "alarm.cleared"});
  CHECK(seen[1]["by"] == "ana");
  CHECK(seen[2]["state"] == "cleared");
  CHECK(seen[2]["reason"] == "back in range");
  CHECK(seen[2]["value"] == 46.0);

  // The batch record lists the step's alarms.
  REQUIRE(send(sub, "5", "step.next")["ok"] == true);
  REQUIRE(send(sub, "6", "step.next")["ok"] == true);
  REQUIRE(sub.wait_for([](const auto& all) { return !records(all, base + "/batches").empty(); }));
  const json batch = records(sub.messages(), base + "/batches")[0];
  INFO(batch.dump());
  REQUIRE(batch["steps"][0]["alarms"].size() == 1);
  CHECK(batch["steps"][0]["alarms"][0]["alarm"] == "heat-oils.range");
  CHECK(batch["steps"][0]["alarms"][0]["value"] == 52.5);
  CHECK(batch["steps"][1]["alarms"].empty());
}

TEST_CASE_METHOD(WithStation,
                 "an alarm raised and cleared while the broker is down arrives after it restarts, in order") {
  Pty kettle(dir.file("ttyKettle"));
  tallyd.start(config(serial_device("kettle", kettle.link())) + overheat_rule);
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 1; }));
  broker.stop();
  kettle.write("T=97\r\n");
  REQUIRE(wait_until([&] { return tallyd.log().find("alarm kettle-overheat raised") != std::string::npos; }));
  kettle.write("T=94.5\r\n");  // within the deadband: still active
  kettle.write("T=93\r\n");
  REQUIRE(wait_until([&] { return tallyd.log().find("alarm kettle-overheat cleared") != std::string::npos; }));
  broker.start();
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "kettle-overheat").size() == 2; }, 20s));
  const auto seen = alarm_events(sub.messages(), "kettle-overheat");
  CHECK(names(seen) == std::vector<std::string>{"alarm.raised", "alarm.cleared"});
  CHECK(seen[0]["seq"] < seen[1]["seq"]);
  CHECK(seen[0]["value"] == 97.0);
  CHECK(seen[0]["limit"] == 95.0);
  CHECK(seen[0]["severity"] == "critical");
  CHECK(seen[1]["value"] == 93.0);
  // The raised alarm was never published as retained; the cleared one leaves nothing retained behind.
  REQUIRE(sub.wait_for([](const auto& all) { return deleted(all, "kettle-overheat"); }));
}

TEST_CASE_METHOD(WithStation,
                 "kill -9 with an active alarm: after the restart it is still active and raised only once") {
  Pty kettle(dir.file("ttyKettle"));
  tallyd.start(config(serial_device("kettle", kettle.link())) + overheat_rule);
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 1; }));
  kettle.write("T=97\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "kettle-overheat").size() == 1; }));
  tallyd.process->signal(SIGKILL);
  tallyd.process->wait(5s);
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }));
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 2; }));
  kettle.write("T=99\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 99); }));
  // Republished on the new connection, still active, not raised again.
  CHECK(retained_alarm(sub.messages(), "kettle-overheat")["state"] == "active");
  CHECK(send(sub, "1", "alarm.ack", {{"alarm", "kettle-overheat"}, {"by", "bo"}})["ok"] == true);
  kettle.write("T=90\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "kettle-overheat").size() == 3; }));
  CHECK(names(alarm_events(sub.messages(), "kettle-overheat")) ==
        std::vector<std::string>{"alarm.raised", "alarm.acknowledged", "alarm.cleared"});
  REQUIRE(sub.wait_for([](const auto& all) { return deleted(all, "kettle-overheat"); }));
}

TEST_CASE_METHOD(WithStation,
                 "a local HTTP endpoint gets exactly one notification per transition, also after it was down") {
  Pty kettle(dir.file("ttyKettle"));
  HttpSink phone;
  dir.write("hook-url", phone.url("/alarms?token=s3cret") + "\n");
  tallyd.start(config(serial_device("kettle", kettle.link())) + overheat_rule +
               "\n[[notify]]\nurl_file = \"hook-url\"\nmin_severity = \"warning\"\n");
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 1; }));
  kettle.write("T=97\r\n");
  REQUIRE(phone.wait_for([](const auto& r) { return r.size() == 1; }));
  const auto first = phone.requests()[0];
  CHECK(first.method == "POST");
  CHECK(first.path == "/alarms?token=s3cret");
  const json body = json::parse(first.body);
  CHECK(body["title"] == "bench-1: kettle-overheat (critical)");
  CHECK(body["body"].get<std::string>().rfind("kettle 97 degC above 95 degC\nValue 97 degC, limit 95 degC\n", 0) == 0);
  CHECK(body["transition"] == "raised");
  CHECK(body["station"] == "bench-1");
  CHECK(tallyd.log().find("s3cret") == std::string::npos);  // the URL's token is never logged

  // The endpoint goes down; the alarm is acknowledged and clears; the daemon is even restarted meanwhile.
  phone.stop();
  CHECK(send(sub, "1", "alarm.ack", {{"alarm", "kettle-overheat"}, {"by", "bo"}})["ok"] == true);
  kettle.write("T=90\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return alarm_events(all, "kettle-overheat").size() == 3; }));
  REQUIRE(wait_until([&] { return tallyd.log().find("failed (Couldn't connect") != std::string::npos; }));
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(5s) == std::optional<int>(0));
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }));
  phone.start();
  REQUIRE(phone.wait_for([](const auto& r) { return r.size() >= 3; }, 20s));
  // Nothing more comes: exactly one per transition.
  CHECK_FALSE(phone.wait_for([](const auto& r) { return r.size() > 3; }, 3s));
  const auto all = phone.requests();
  std::vector<std::string> transitions, ids;
  for (const auto& r : all) {
    transitions.push_back(json::parse(r.body)["transition"]);
    ids.push_back(json::parse(r.body)["id"]);
  }
  CHECK(transitions == std::vector<std::string>{"raised", "acknowledged", "cleared"});
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 3);
  CHECK(json::parse(all[1].body)["by"] == "bo");
}

// Issue #13 item 3: NTP stepping the wall clock of a Pi without an RTC during a hold step.
TEST_CASE_METHOD(WithStation, "a wall-clock jump of +2 h during a hold step changes timestamps only") {
  Pty kettle(dir.file("ttyKettle"));
  const std::string shift_file = dir.write("clock-shift", "0\n");
  tallyd.launcher = {"/usr/bin/env", std::string("LD_PRELOAD=") + CLOCK_SHIFT_PATH, "TALLY_CLOCK_SHIFT_FILE=" + shift_file};
  tallyd.start(config(serial_device("kettle", kettle.link()) + "stale_s = 30\n") + recipe);
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 1; }));
  REQUIRE(send(sub, "1", "batch.start", {{"batch", "B-13"}, {"recipe", "soap"}})["ok"] == true);
  kettle.write("T=45\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 45); }));
  const std::string before = reading_of(sub.messages(), "kettle", 45)["ts"];
  {
    std::ofstream(shift_file) << "7200\n";  // NTP steps the clock 2 h ahead
  }
  // Readings go on across the jump, stamped 2 h later (the shim picks the new shift up within 20 ms).
  const auto later = [&](const std::vector<Message>& all) {
    for (const auto& r : records(all, base + "/readings/kettle"))
      if (r["ts"].get<std::string>().substr(11, 2) != before.substr(11, 2)) return true;
    return false;
  };
  REQUIRE(wait_until([&] {
    kettle.write("T=46\r\n");
    return sub.wait_for(later, 200ms);
  }));
  const json done = send(sub, "2", "step.next");
  REQUIRE(done["ok"] == true);
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "step.completed").empty(); }));
  const json heat = events(sub.messages(), "step.completed")[0];
  INFO(heat.dump());
  CHECK(heat["time_in_range_s"].get<double>() < 60);  // seconds of real time, not 7200
  CHECK(heat["duration_s"].get<double>() < 60);
  CHECK(heat["held"] == false);  // hold_s 600 was not met
  // Neither an overrun (max_s 3600), a range alarm nor a stale device was raised by the jump.
  CHECK(unique_records(sub.messages(), base + "/events").size() > 0);
  for (const auto& e : unique_records(sub.messages(), base + "/events"))
    CHECK(e["event"].get<std::string>().rfind("alarm.", 0) != 0);
}
