// Bench scales end to end: `tally-emu scale` plays each protocol's scale on a pseudo-terminal, a real tallyd reads
// it with the scale-serial driver, a real mosquitto carries the readings, and a subscriber checks what arrives:
// value (converted), unit, stable flag, faults, offline/online across an unplug and a silent scale, and tare/zero
// sent as MQTT commands.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

// One emulated scale: its port (a symlink to a pty) and the FIFO that scripts it.
struct EmulatedScale {
  std::string link, fifo;
  std::unique_ptr<Process> process;

  EmulatedScale(TempDir& dir, const std::string& name, const std::string& protocol,
                const std::vector<std::string>& extra = {}) {
    link = dir.file("tty-" + name);
    fifo = dir.file("ctl-" + name);
    std::vector<std::string> argv{TALLY_EMU_PATH, "scale", "--protocol", protocol, "--link", link, "--control", fifo,
                                  "--settle-ms", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir.file("emu-" + name + ".log"));
    struct stat st {};
    REQUIRE(wait_until([&] { return ::stat(link.c_str(), &st) == 0; }, 5s));  // the FIFO is made before the link
  }
  void control(const std::string& line) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const std::string l = line + "\n";
    REQUIRE(::write(fd, l.data(), l.size()) == static_cast<ssize_t>(l.size()));
    ::close(fd);
  }
};

std::string scale_device(const std::string& name, const EmulatedScale& emu, const std::string& protocol,
                         const std::string& keys) {
  return "[[devices]]\nname = \"" + name + "\"\ndriver = \"scale-serial\"\nport = \"" + emu.link +
         "\"\nprotocol = \"" + protocol + "\"\n" + keys + "\n";
}

// The readings of exactly `device` ("mt" is not "mtsir"), in arrival order.
std::vector<json> readings_of(const std::vector<Message>& all, const std::string& device) {
  std::vector<json> out;
  for (const auto& m : all)
    if (m.topic == base + "/readings/" + device && !m.payload.empty()) out.push_back(json::parse(m.payload));
  return out;
}

// A reading of `device` matching `pred` arrived.
bool reading_where(const std::vector<Message>& all, const std::string& device, const std::function<bool(const json&)>& pred) {
  for (const auto& r : readings_of(all, device))
    if (pred(r)) return true;
  return false;
}

bool value_is(const json& r, double v, bool stable) {
  return r["value"].is_number() && std::abs(r["value"].get<double>() - v) < 1e-9 && r.value("stable", !stable) == stable;
}

std::vector<json> device_events(const std::vector<Message>& all, const std::string& event, const std::string& device) {
  std::vector<json> out;
  for (const auto& e : events(all, event))
    if (e.value("device", "") == device) out.push_back(e);
  return out;
}

// The reply to command `id` on B/cmd/reply (null until it came).
json reply_to(const std::vector<Message>& all, const std::string& id) {
  for (const auto& m : all)
    if (m.topic == base + "/cmd/reply" && !m.payload.empty()) {
      const json r = json::parse(m.payload);
      if (r["id"] == id) return r;
    }
  return json();
}

json command(Subscriber& sub, const std::string& id, const std::string& cmd, const std::string& device) {
  sub.publish(base + "/cmd", json{{"id", id}, {"cmd", cmd}, {"device", device}}.dump());
  sub.wait_for([&](const auto& all) { return !reply_to(all, id).is_null(); }, 10s);
  return reply_to(sub.messages(), id);
}

}  // namespace

TEST_CASE_METHOD(WithStation,
                 "every scale protocol reads through its emulator: value in the configured unit, stable flag, faults") {
  EmulatedScale mt(dir, "mt", "mt-sics", {"--weight", "1234.5"});
  EmulatedScale mtsir(dir, "mtsir", "mt-sics", {"--weight", "250"});
  EmulatedScale ad(dir, "and", "and", {"--weight", "1500", "--unit", "kg", "--decimals", "3"});
  EmulatedScale adstream(dir, "andstream", "and", {"--weight", "12.3", "--stream"});
  EmulatedScale oh(dir, "ohaus", "ohaus", {"--weight", "100"});
  EmulatedScale sa(dir, "sartorius", "sartorius", {"--weight", "1255.7", "--decimals", "1"});
  EmulatedScale ad2(dir, "adam", "adam", {"--weight", "123.45"});
  tallyd.start(config(scale_device("mt", mt, "mt-sics", "poll_ms = 100\nunit = \"kg\"") +
                        scale_device("mtsir", mtsir, "mt-sics", "poll_ms = 0") +
                        scale_device("and", ad, "and", "poll_ms = 100") +
                        scale_device("andstream", adstream, "and", "poll_ms = 0\nframing = \"7E1\"") +
                        scale_device("ohaus", oh, "ohaus", "poll_ms = 100\nunit = \"oz\"") +
                        scale_device("sartorius", sa, "sartorius", "poll_ms = 100\nframing = \"7O1\"") +
                        scale_device("adam", ad2, "adam", "poll_ms = 100\nbaud = 4800\nunit = \"kg\"")));

  const auto arrives = [&](const std::string& device, double value, bool stable) {
    INFO(device << " " << value << (stable ? " stable" : " not stable") << "\n" << tallyd.log());
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, device, [&](const json& r) { return value_is(r, value, stable); });
    }));
  };
  arrives("mt", 1.2345, true);
  arrives("mtsir", 250.0, true);
  arrives("and", 1500.0, true);        // the scale shows kg, tallyd publishes g
  arrives("andstream", 12.3, true);
  arrives("ohaus", 3.5274, true);      // 100 g in oz, to the resolution the scale has
  arrives("sartorius", 1255.7, true);
  arrives("adam", 0.12345, false);     // Adam's plain format never says "stable"

  const json r = readings_of(sub.messages(), "mt").front();
  CHECK(r["quantity"] == "mass");
  CHECK(r["unit"] == "kg");
  CHECK(r["device"] == "mt");
  for (const auto& [device, unit] : std::vector<std::pair<std::string, std::string>>{
           {"mtsir", "g"}, {"and", "g"}, {"ohaus", "oz"}, {"sartorius", "g"}, {"adam", "kg"}})
    CHECK(readings_of(sub.messages(), device).front()["unit"] == unit);
  for (const auto& device : {"mt", "mtsir", "and", "andstream", "ohaus", "sartorius", "adam"})
    CHECK(device_events(sub.messages(), "device.online", device).size() == 1);

  // Moving and settling: unstable while it moves, stable when it says so.
  mt.control("unstable");
  arrives("mt", 1.2345, false);
  mt.control("weight 2000");
  arrives("mt", 2.0, true);
  sa.control("unstable");  // Sartorius: no unit on an unstable line; the last one is used
  arrives("sartorius", 1255.7, false);

  // Noise on the line costs only the noisy line: no offline, the next frame is read.
  ad.control("noise");
  adstream.control("noise");
  adstream.control("weight 13.3");
  arrives("andstream", 13.3, true);
  ad.control("weight 1600");
  arrives("and", 1600.0, true);
  CHECK(device_events(sub.messages(), "device.offline", "and").empty());
  CHECK(device_events(sub.messages(), "device.offline", "andstream").empty());

  // Overload and underload are readings with a fault and a null value.
  for (auto* emu : {&mt, &mtsir, &ad, &adstream, &oh, &sa, &ad2}) emu->control("overload");
  for (const auto& device : {"mt", "mtsir", "and", "andstream", "ohaus", "sartorius", "adam"}) {
    INFO(device);
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, device, [](const json& x) { return x.value("fault", "") == "overload" && x["value"].is_null(); });
    }));
  }
  mt.control("underload");
  REQUIRE(sub.wait_for([&](const auto& all) {
    return reading_where(all, "mt", [](const json& x) { return x.value("fault", "") == "underload" && x["value"].is_null(); });
  }));
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation,
                 "a scale unplugged and plugged back, or silent and talking again, goes offline and comes back") {
  EmulatedScale mt(dir, "mt", "mt-sics", {"--weight", "10"});
  EmulatedScale ad(dir, "and", "and", {"--weight", "20", "--stream"});
  tallyd.start(config(scale_device("mt", mt, "mt-sics", "poll_ms = 100") +
                        scale_device("and", ad, "and", "poll_ms = 0")));
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.online", "mt").size() == 1; }));
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.online", "and").size() == 1; }));

  // Unplugged: the pty closes and the link goes; plugged back at the same path.
  mt.control("unplug");
  REQUIRE(sub.wait_for([](const auto& all) { return !device_events(all, "device.offline", "mt").empty(); }));
  CHECK(device_events(sub.messages(), "device.offline", "mt")[0]["error"].get<std::string>().find(mt.link) !=
        std::string::npos);
  mt.control("weight 11");
  mt.control("plug");
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.online", "mt").size() == 2; }, 15s));
  REQUIRE(sub.wait_for([](const auto& all) {
    return reading_where(all, "mt", [](const json& r) { return value_is(r, 11.0, true); });
  }));

  // Silent (a dead scale on a live adapter): offline with "no answer", back online with its first frame.
  ad.control("silent");
  REQUIRE(sub.wait_for([](const auto& all) { return !device_events(all, "device.offline", "and").empty(); }, 10s));
  const std::string error = device_events(sub.messages(), "device.offline", "and")[0]["error"];
  CHECK(error.find("no answer from the scale") != std::string::npos);
  ad.control("weight 21");
  ad.control("talk");
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.online", "and").size() == 2; }, 15s));
  REQUIRE(sub.wait_for([](const auto& all) {
    return reading_where(all, "and", [](const json& r) { return value_is(r, 21.0, true); });
  }));
  // The polled scale goes silent too.
  mt.control("silent");
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.offline", "mt").size() == 2; }, 10s));
  mt.control("talk");
  REQUIRE(sub.wait_for([](const auto& all) { return device_events(all, "device.online", "mt").size() == 3; }, 15s));
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation, "scale.tare and scale.zero over MQTT, for every protocol, accepted and refused") {
  const std::vector<std::string> protocols{"mt-sics", "and", "ohaus", "sartorius", "adam"};
  std::vector<std::unique_ptr<EmulatedScale>> emus;
  std::string devices;
  for (const auto& p : protocols) {
    emus.push_back(std::make_unique<EmulatedScale>(dir, p, p, std::vector<std::string>{"--weight", "250"}));
    devices += scale_device(p, *emus.back(), p, "poll_ms = 100");
  }
  tallyd.start(config(devices));

  for (std::size_t i = 0; i < protocols.size(); ++i) {
    const std::string& dev = protocols[i];
    EmulatedScale& emu = *emus[i];
    INFO(dev << "\n" << tallyd.log());
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [](const json& r) { return r["value"] == 250.0; });
    }));

    // Tare: the container's 250 g become the tare, the display reads 0.
    const json tare = command(sub, "tare-" + dev, "scale.tare", dev);
    REQUIRE(tare.is_object());
    CHECK(tare["ok"] == true);
    CHECK(tare["device"] == dev);
    if (dev == "mt-sics") CHECK(tare["detail"] == "tare 250.00 g");
    else CHECK(tare["detail"].get<std::string>().find("the scale now reads 0.00 g") != std::string::npos);
    const std::size_t before = readings_of(sub.messages(), dev).size();
    REQUIRE(sub.wait_for([&](const auto& all) {
      const auto rs = readings_of(all, dev);
      return rs.size() > before && rs.back()["value"] == 0.0;
    }));

    // Zero with the pan emptied: the display reads -250 until zeroed.
    emu.control("weight 0");
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [](const json& r) { return r["value"] == -250.0; });
    }));
    const json zero = command(sub, "zero-" + dev, "scale.zero", dev);
    REQUIRE(zero.is_object());
    CHECK(zero["ok"] == true);
    const std::size_t n = readings_of(sub.messages(), dev).size();
    REQUIRE(sub.wait_for([&](const auto& all) {
      const auto rs = readings_of(all, dev);
      return rs.size() > n && rs.back()["value"] == 0.0;
    }));
  }

  // Refusals carry the scale's reason.
  emus[0]->control("overload");
  const json refused = command(sub, "zero-over", "scale.zero", "mt-sics");
  CHECK(refused["ok"] == false);
  CHECK(refused.value("error", "") == "scale refused zero: overload (Z +)");
  emus[0]->control("normal");
  emus[0]->control("refuse-tare");
  const json busy = command(sub, "tare-busy", "scale.tare", "mt-sics");
  CHECK(busy["ok"] == false);
  CHECK(busy.value("error", "") == "scale refused tare: busy or no stable weight in time (T I)");
  emus[1]->control("refuse-tare");
  const json unstable = command(sub, "tare-refused-and", "scale.tare", "and");
  INFO(unstable.dump());
  CHECK(unstable["ok"] == false);
  CHECK(unstable.value("error", "") == "scale refused tare: stability error: weight not stable (EC,E11)");
  // A silent scale: the runner's 5 s deadline answers.
  emus[0]->control("accept");
  emus[0]->control("silent");
  const json silent = command(sub, "tare-silent", "scale.tare", "mt-sics");
  CHECK(silent["ok"] == false);

  // Every command is also an event in the record stream.
  // (the reply may overtake the event: the record stream is published on its own)
  const bool all_recorded =
      sub.wait_for([&](const auto& all) { return events(all, "command").size() >= 2 * protocols.size() + 4; });
  std::string recorded;
  for (const auto& e : events(sub.messages(), "command")) recorded += e.value("id", json("?")).dump() + " ";
  INFO("command events: " << recorded);
  CHECK(all_recorded);
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation,
                 "the emulator's corpus forms read through tallyd: stable only where the line says so, faults as faults") {
  struct Form {
    std::string device, protocol, form;
  };
  const std::vector<Form> forms{
      {"defender", "ohaus", "defender"},  // "     100.00 g    ?G  ": the unstable mark against the legend
      {"cw11", "ohaus", "cw11"},          // "   100.00 g  ?G"
      {"ranger", "ohaus", "ranger"},      // print block: SCALE / G / T / N lines, only N published
      {"sbi22", "sartorius", "sbi22"},    // "G     +   100.00 g  ", "Stat     High       "
      {"highland", "adam", "highland"},   // "ST,GS     100.00 g ": Adam saying stable
      {"mdw", "adam", "mdw"},             // overload "^^^^^^^^^g"
      {"csv", "and", "csv"},              // "ST,+00100.00,  g"
      {"named", "mt-sics", "named"},      // "SI S     100.00 g"
  };
  std::vector<std::unique_ptr<EmulatedScale>> emus;
  std::string devices;
  for (const auto& f : forms) {
    emus.push_back(std::make_unique<EmulatedScale>(dir, f.device, f.protocol,
                                                   std::vector<std::string>{"--weight", "100", "--form", f.form}));
    devices += scale_device(f.device, *emus.back(), f.protocol, "poll_ms = 100");
  }
  tallyd.start(config(devices));

  for (std::size_t i = 0; i < forms.size(); ++i) {
    const std::string& dev = forms[i].device;
    EmulatedScale& emu = *emus[i];
    const bool says_stable = forms[i].protocol != "adam" || forms[i].form == "highland";
    INFO(dev << "\n" << tallyd.log());
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [&](const json& r) { return value_is(r, 100.0, says_stable); });
    }));
    emu.control("unstable");
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [&](const json& r) { return value_is(r, 100.0, false); });
    }));
    emu.control("overload");
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [](const json& r) { return r.value("fault", "") == "overload" && r["value"].is_null(); });
    }));
    emu.control("underload");
    REQUIRE(sub.wait_for([&](const auto& all) {
      return reading_where(all, dev, [](const json& r) { return r.value("fault", "") == "underload" && r["value"].is_null(); });
    }));
    emu.control("normal");
  }
  // The Ranger's print block publishes its net line only: the gross (100) and tare (25) of a tared load never.
  const json tare = command(sub, "tare-ranger", "scale.tare", "ranger");
  CHECK(tare["ok"] == true);
  emus[2]->control("weight 125");
  REQUIRE(sub.wait_for([&](const auto& all) {
    return reading_where(all, "ranger", [](const json& r) { return value_is(r, 25.0, true); });
  }));
  const std::size_t n = readings_of(sub.messages(), "ranger").size();
  REQUIRE(sub.wait_for([&](const auto& all) { return readings_of(all, "ranger").size() > n + 3; }));
  for (std::size_t k = n; k < readings_of(sub.messages(), "ranger").size(); ++k)
    CHECK(readings_of(sub.messages(), "ranger")[k]["value"] == 25.0);
  CHECK(tallyd.process->running());
}
