// Production context end to end: commands over MQTT drive a soap batch and a discrete work order through a real
// tallyd, with the daemon restarted in the middle of each; what arrives on the broker is what the owner sees.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

const std::string soap_recipe = R"(
[[recipes]]
id = "lavender-soap"
name = "Lavender soap, 40 bars"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  device = "bench-scale"
  target = 3200.0
  tolerance = 15.0
  [[recipes.steps]]
  name = "weigh-lye"
  kind = "weigh"
  device = "bench-scale"
  target = 1100.0
  tolerance = 10.0
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  device = "kettle"
  min = 43.0
  max = 49.0
  hold_s = 1
  [[recipes.steps]]
  name = "pour-moulds"
  kind = "manual"
)";

std::string scale_device(const std::string& port) {
  return "[[devices]]\nname = \"bench-scale\"\ndriver = \"serial-line\"\nport = \"" + port +
         "\"\npattern = 'W=([-0-9.]+)'\nquantity = \"mass\"\nunit = \"g\"\n\n";
}


}  // namespace

TEST_CASE_METHOD(WithStation, "a soap batch driven over MQTT, restarted mid-hold, ends with a complete batch record") {
  Pty scale(dir.file("ttyScale")), kettle(dir.file("ttyKettle"));
  tallyd.start(config(scale_device(scale.link()) + serial_device("kettle", kettle.link())) + soap_recipe);
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 2; }));

  CHECK(send(sub, "0", "operator.set", {{"operator", "ana"}})["ok"] == true);
  json r = send(sub, "1", "batch.start", {{"batch", "B-1042"}, {"recipe", "lavender-soap"}});
  REQUIRE(r["ok"] == true);
  CHECK(r["step"] == "weigh-oils");
  const json refused = send(sub, "1b", "batch.start", {{"batch", "B-2"}, {"recipe", "lavender-soap"}});
  CHECK(refused["ok"] == false);
  CHECK(refused["error"].get<std::string>().find("B-1042 is running") != std::string::npos);

  scale.write("W=3201.5\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return !reading_of(all, "bench-scale", 3201.5).is_null(); }));
  const json oils = reading_of(sub.messages(), "bench-scale", 3201.5);
  CHECK(oils["batch"] == "B-1042");
  CHECK(oils["recipe"] == "lavender-soap");
  CHECK(oils["step"] == "weigh-oils");
  CHECK(oils["step_no"] == 1);
  CHECK(oils["operator"] == "ana");
  CHECK(send(sub, "2", "lot.record", {{"lot", "OLIVE-0423"}})["ok"] == true);
  CHECK(send(sub, "3", "step.next")["step"] == "weigh-lye");

  scale.write("W=1125\r\n");  // 25 g over: out of tolerance
  REQUIRE(sub.wait_for([](const auto& all) { return !reading_of(all, "bench-scale", 1125).is_null(); }));
  CHECK(reading_of(sub.messages(), "bench-scale", 1125)["step"] == "weigh-lye");
  CHECK(send(sub, "4", "step.next")["step"] == "heat-oils");
  REQUIRE(sub.wait_for([](const auto& all) {
    return last_on(all, base + "/context")["targets"]["step"] == "heat-oils";
  }));
  CHECK(last_on(sub.messages(), base + "/context")["targets"]["min"] == 43.0);

  kettle.write("T=44 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return !reading_of(all, "kettle", 44).is_null(); }));

  // Restart in the middle of the hold: the batch resumes at the same step.
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(5s) == std::optional<int>(0));
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 4; }));
  kettle.write("T=45 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return !reading_of(all, "kettle", 45).is_null(); }));
  CHECK(reading_of(sub.messages(), "kettle", 45)["step"] == "heat-oils");
  CHECK(reading_of(sub.messages(), "kettle", 45)["batch"] == "B-1042");
  CHECK(send(sub, "5", "step.next")["step"] == "pour-moulds");
  r = send(sub, "6", "step.next");
  CHECK(r["outcome"] == "complete");

  REQUIRE(sub.wait_for([](const auto& all) { return !records(all, base + "/batches").empty(); }));
  const json batch = records(sub.messages(), base + "/batches")[0];
  INFO(batch.dump(2));
  CHECK(batch["batch"] == "B-1042");
  CHECK(batch["outcome"] == "complete");
  CHECK(batch["operator"] == "ana");
  CHECK(batch["failed_steps"] == json::array({"weigh-lye", "heat-oils"}));  // lye 25 g over; hold 1 s never met
  REQUIRE(batch["steps"].size() == 4);
  CHECK(batch["steps"][0]["amount"] == 3201.5);
  CHECK(batch["steps"][0]["within_tolerance"] == true);
  CHECK(batch["steps"][0]["lots"] == json::array({"OLIVE-0423"}));
  CHECK(batch["steps"][1]["amount"] == 1125.0);
  CHECK(batch["steps"][1]["within_tolerance"] == false);
  CHECK(batch["steps"][2]["readings"] == 2);
  CHECK(batch["steps"][2]["min_value"] == 44.0);
  CHECK(batch["steps"][2]["max_value"] == 45.0);
  CHECK(batch["steps"][3]["kind"] == "manual");
  for (const char* name : {"batch.started", "step.started", "step.completed", "batch.ended", "lot.recorded",
                           "operator.changed"}) {
    INFO(name);
    CHECK_FALSE(events(sub.messages(), name).empty());
  }
  // Every command is in the record stream with its result (the last one's event follows the batch record).
  CHECK(sub.wait_for([](const auto& all) { return events(all, "command").size() == 8; }));
  const auto commands = events(sub.messages(), "command");
  CHECK(std::count_if(commands.begin(), commands.end(), [](const json& c) { return c["ok"] == false; }) == 1);
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/context").value("batch", "") == ""; }));
}

TEST_CASE_METHOD(WithStation,
                 "a discrete work order over MQTT: units, a duplicate, a reject, kill -9 in the middle, totals") {
  tallyd.start(discrete(config("")));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));

  CHECK(send(sub, "a", "unit.add")["error"] == "no work order is active");
  REQUIRE(send(sub, "b", "work_order.start", {{"work_order", "WO-77"}, {"target", 5}})["ok"] == true);
  CHECK(send(sub, "c", "unit.add", {{"serial", "SN-1"}})["unit_no"] == 1);
  CHECK(send(sub, "d", "unit.add", {{"serial", "SN-2"}})["unit_no"] == 2);
  const json dup = send(sub, "e", "unit.add", {{"serial", "SN-1"}});
  CHECK(dup["ok"] == false);
  CHECK(dup["error"] == "serial SN-1 is already unit 1 of work order WO-77");
  CHECK(send(sub, "f", "unit.reject", {{"reason", "cracked housing"}})["status"] == "rejected");

  tallyd.process->signal(SIGKILL);
  REQUIRE(tallyd.process->wait(5s).has_value());
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }));

  CHECK(send(sub, "g", "unit.add", {{"serial", "SN-2"}})["error"] == "serial SN-2 is already unit 2 of work order WO-77");
  CHECK(send(sub, "h", "unit.add", {{"serial", "SN-3"}})["unit_no"] == 3);
  const json end = send(sub, "i", "work_order.end");
  REQUIRE(end["ok"] == true);
  CHECK(end["good"] == 2);
  CHECK(end["rejected"] == 1);
  CHECK(end["total"] == 3);

  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "work_order.ended").empty(); }));
  const auto units = unique_records(sub.messages(), base + "/units");
  REQUIRE(units.size() == 4);
  CHECK(units[0]["unit_no"] == 1);
  CHECK(units[0]["serial"] == "SN-1");
  CHECK(units[0]["status"] == "good");
  CHECK(units[0]["work_order"] == "WO-77");
  CHECK(units[2]["unit_no"] == 2);
  CHECK(units[2]["status"] == "rejected");
  CHECK(units[2]["reason"] == "cracked housing");
  CHECK(units[3]["unit_no"] == 3);
  CHECK(units[3]["serial"] == "SN-3");
  CHECK(events(sub.messages(), "unit.duplicate").size() == 2);
  const auto ended = events(sub.messages(), "work_order.ended")[0];
  CHECK(ended["work_order"] == "WO-77");
  CHECK(ended["target"] == 5);
}

TEST_CASE_METHOD(WithStation, "malformed and unknown commands get an error reply and change nothing") {
  tallyd.start(config(""));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  sub.publish(base + "/cmd", "{not json");
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "command").empty(); }));
  const json first = events(sub.messages(), "command")[0];
  CHECK(first["ok"] == false);
  CHECK(first["error"].get<std::string>().rfind("malformed command: not JSON", 0) == 0);
  CHECK(send(sub, "x", "reactor.scram")["error"] == "unknown command \"reactor.scram\"");
  // Hostile or broken payloads: each answered, none fatal.
  sub.publish(base + "/cmd", std::string("{\"id\":\"bin\",\"cmd\":\"\xff\xfe\"}"));  // invalid UTF-8
  sub.publish(base + "/cmd", std::string(4000, '[') + std::string(4000, ']'));  // deep enough to hurt, under 8 KiB
  sub.publish(base + "/cmd", "{\"id\":\"big\",\"cmd\":\"status\",\"pad\":\"" + std::string(100000, 'x') + "\"}");
  CHECK(send(sub, "n", "alarm.ack", {{"alarm", 5}})["error"] == "alarm.ack needs \"alarm\" (an alarm id)");
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "command").size() >= 6; }));
  std::vector<std::string> errors;
  for (const auto& e : events(sub.messages(), "command")) errors.push_back(e.value("error", ""));
  CHECK(std::count(errors.begin(), errors.end(), "malformed command: nested too deeply") == 1);
  CHECK(std::count(errors.begin(), errors.end(), "malformed command: 100036 bytes, over the limit of 8192") == 1);
  CHECK(send(sub, "y", "step.next")["error"] == "no batch is running");
  CHECK(send(sub, "z", "scale.tare", {{"device", "nope"}})["error"] == "unknown device \"nope\"");
  const json status = send(sub, "s", "status");
  CHECK(status["ok"] == true);
  CHECK(status["status"]["online"] == true);
  CHECK(status["context"]["mode"] == "process");
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation, "tallyctl drives the real daemon and prints its replies, over MQTT 3.1.1 and 5") {
  const std::string version = GENERATE("3.1.1", "5");  // a fresh station for each
  INFO("tallyd on MQTT " << version);
  const std::string devices =
      "[[devices]]\nname = \"bench-scale\"\ndriver = \"simulated\"\n\n[[devices]]\nname = \"kettle\"\ndriver = \"simulated\"\n";
  tallyd.start(config(devices, "version = \"" + version + "\"\n") + soap_recipe);
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  const auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {TALLYCTL_PATH, "--config", tallyd.config_path, "--timeout", "10"});
    Process p(args, dir.file("tallyctl.log"));
    const auto code = p.wait(20s);
    REQUIRE(code.has_value());
    return std::make_pair(*code, p.log());
  };
  auto [code, out] = run({"batch.start", "batch=B-1", "recipe=lavender-soap"});
  INFO(out);
  CHECK(code == 0);
  CHECK(out.find("\"step\": \"weigh-oils\"") != std::string::npos);
  std::tie(code, out) = run({"batch.start", "batch=B-2", "recipe=lavender-soap"});
  CHECK(code == 1);
  CHECK(out.find("B-1 is running") != std::string::npos);
  std::tie(code, out) = run({"status"});
  CHECK(code == 0);
  CHECK(out.find("\"batch\": \"B-1\"") != std::string::npos);
}
