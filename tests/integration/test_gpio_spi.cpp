// GPIO and SPI devices end to end: a real tallyd whose devices sit on the fake buses its configuration selects
// (`fake = {...}`: frames for the thermocouples, an HX711 model answering the clocking, a bouncing photo-eye), an
// IIO device as a sysfs-shaped directory, a fake [[outputs]] line, a real mosquitto, and a subscriber seeing what
// an owner's dashboard would see: readings and faults, units counted into a work order, the buzzer toggled,
// counter totals across a restart, and tallyctl calibrate on the load cell.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

std::vector<json> readings_of(const std::vector<Message>& all, const std::string& device) {
  std::vector<json> out;
  for (const auto& m : all)
    if (m.topic == base + "/readings/" + device && !m.payload.empty()) out.push_back(json::parse(m.payload));
  return out;
}

bool has_value(const std::vector<Message>& all, const std::string& device, double v) {
  for (const auto& r : readings_of(all, device))
    if (r["value"].is_number() && std::abs(r["value"].get<double>() - v) < 1e-9) return true;
  return false;
}

bool has_fault(const std::vector<Message>& all, const std::string& device, const std::string& fault) {
  for (const auto& r : readings_of(all, device))
    if (r.value("fault", "") == fault && r["value"].is_null()) return true;
  return false;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::rename((path + ".tmp").c_str(), path.c_str());
}

std::string devices(const TempDir& dir) {
  ::mkdir(dir.file("iio:device0").c_str(), 0755);
  dir.write("iio:device0/name", "max31855\n");
  dir.write("iio:device0/in_temp_raw", "-4\n");
  dir.write("iio:device0/in_temp_scale", "250\n");
  write_file(dir.file("load"), "8000\n");
  return "[[devices]]\nname = \"kettle\"\ndriver = \"max31855\"\nspi = \"/dev/spidev0.0\"\nspeed_hz = 4000000\n"
         "poll_ms = 100\nfake = { frames = [\"01 90 19 00\", \"FF F0 19 00\", \"00 01 19 01\", \"00 01 19 04\"] }\n\n"
         "[[devices]]\nname = \"oven\"\ndriver = \"max6675\"\npoll_ms = 220\nfake = { frames = [\"0C 88\", \"00 04\"] }\n\n"
         "[[devices]]\nname = \"load\"\ndriver = \"hx711\"\ndout = 5\nsck = \"GPIO6\"\nsamples = 3\noffset = 8000\n"
         "scale = 100\nunit = \"g\"\npoll_ms = 100\nfake = { raw_file = \"" + dir.file("load") + "\", sps = 200 }\n\n"
         "[[devices]]\nname = \"probe\"\ndriver = \"iio\"\npath = \"" + dir.file("iio:device0") +
         "\"\nchannel = \"in_temp\"\npoll_ms = 100\n\n"
         "[[devices]]\nname = \"eye\"\ndriver = \"gpio-counter\"\nchip = \"pinctrl-rp1\"\nline = \"GPIO17\"\n"
         "counts = \"units\"\ndebounce_ms = 5\nfeedback = \"buzzer\"\nfake = { every_ms = 400, hold_ms = 100, bounces = 3 }\n\n"
         "[[devices]]\nname = \"flow\"\ndriver = \"gpio-counter\"\nline = 22\ncounts = \"pulses\"\ndebounce_ms = 5\n"
         "fake = { every_ms = 50, hold_ms = 20, bounces = 2 }\n\n"
         "[[outputs]]\nname = \"buzzer\"\nchip = \"gpiochip0\"\nline = 23\nfake = true\n";
}

}  // namespace

TEST_CASE_METHOD(WithStation,
                 "tallyd on the fake GPIO and SPI buses: readings, faults, units into a work order, the buzzer, totals") {
  tallyd.start(discrete(config(devices(dir))));
  INFO(tallyd.log());

  // Thermocouples: temperatures (negative too) and every fault as a reading with a null value.
  REQUIRE(sub.wait_for([](const auto& all) {
    return has_value(all, "kettle", 25.0) && has_value(all, "kettle", -1.0) && has_fault(all, "kettle", "open-circuit") &&
           has_fault(all, "kettle", "short-to-vcc") && has_value(all, "oven", 100.25) && has_fault(all, "oven", "open-circuit");
  }));
  const json t = readings_of(sub.messages(), "kettle").front();
  CHECK(t["quantity"] == "temperature");
  CHECK(t["unit"] == "degC");
  // The load cell (HX711 model) and the IIO thermocouple.
  REQUIRE(sub.wait_for([](const auto& all) { return has_value(all, "load", 0.0) && has_value(all, "probe", -1.0); }));
  CHECK(readings_of(sub.messages(), "load").front()["unit"] == "g");
  write_file(dir.file("load"), "58000\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_value(all, "load", 500.0); }));

  // Units: refused before the work order (the buzzer plays "refused"), counted into it after.
  REQUIRE(send(sub, "wo", "work_order.start", {{"work_order", "WO-9"}})["ok"] == true);
  REQUIRE(sub.wait_for([](const auto& all) {
    int n = 0;
    for (const auto& u : unique_records(all, base + "/units")) n += u["work_order"] == "WO-9";
    return n >= 3;
  }));
  const auto units = unique_records(sub.messages(), base + "/units");
  CHECK(units[0]["unit_no"] == 1);
  CHECK(units[1]["unit_no"] == 2);
  CHECK(units[0]["source"] == "eye");
  CHECK(units[0]["status"] == "good");
  // The buzzer beeped for them: its retained state went on and off again.
  REQUIRE(sub.wait_for([](const auto& all) {
    bool on = false, off_after = false;
    for (const auto& m : all)
      if (m.topic == base + "/outputs/buzzer") {
        const bool now_on = json::parse(m.payload)["on"] == true;
        if (now_on) on = true;
        else if (on) off_after = true;
      }
    return on && off_after;
  }));

  // The flow counter's running total survives a restart.
  REQUIRE(sub.wait_for([](const auto& all) { return readings_of(all, "flow").size() >= 3; }));
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(6s) == 0);
  const double before = readings_of(sub.messages(), "flow").back()["value"];
  CHECK(readings_of(sub.messages(), "flow").back()["quantity"] == "pulses");
  const auto seen = readings_of(sub.messages(), "flow").size();
  tallyd.start();
  REQUIRE(sub.wait_for([&](const auto& all) { return readings_of(all, "flow").size() > seen; }));
  CHECK(readings_of(sub.messages(), "flow")[seen]["value"].get<double>() == before + 1);
}

TEST_CASE_METHOD(WithStation, "tallyctl calibrate finds offset and scale of a load cell through tallyd") {
  tallyd.start(config(devices(dir)));
  REQUIRE(sub.wait_for([](const auto& all) { return has_value(all, "load", 0.0); }));

  // The operator: Enter with the scale empty; then 500 g on it and "500" typed once tallyctl asks.
  const std::string out = dir.file("calibrate.out");
  const std::string cmd = std::string(TALLYCTL_PATH) + " --config " + tallyd.config_path + " calibrate load readings=3 >" +
                          out + " 2>&1";
  FILE* in = ::popen(cmd.c_str(), "w");
  REQUIRE(in);
  std::fputs("\n", in);
  std::fflush(in);
  const auto output = [&] {
    std::ifstream f(out);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  const bool asked = wait_until([&] { return output().find("2. Put a known mass") != std::string::npos; }, 15s);
  INFO(output() << "\n" << tallyd.log());
  REQUIRE(asked);
  write_file(dir.file("load"), "58000\n");
  std::fputs("500\n", in);
  std::fflush(in);
  const int status = ::pclose(in);
  INFO(output());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output().find("offset = 8000\nscale = 100\n") != std::string::npos);

  // A device without raw counts answers with an error.
  sub.publish(base + "/cmd", R"({"id":"r1","cmd":"device.raw","device":"kettle"})");
  REQUIRE(sub.wait_for([](const auto& all) {
    for (const auto& m : all)
      if (m.topic == base + "/cmd/reply" && json::parse(m.payload)["id"] == "r1") return json::parse(m.payload)["ok"] == false;
    return false;
  }));
}
