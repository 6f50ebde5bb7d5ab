// tallyd end to end: a real mosquitto on a free loopback port, a real tallyd process reading a pseudo-terminal,
// and a subscriber that checks what arrives, as the owner's dashboard would.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

std::string line(int i) { return "T=" + std::to_string(i) + " C\r\n"; }

// Every seq from 1 to the highest, each first seen in increasing order: nothing lost, nothing out of order.
void require_contiguous(const std::vector<Message>& all) {
  const auto seqs = first_seqs(all);
  REQUIRE_FALSE(seqs.empty());
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    INFO("position " << i);
    REQUIRE(seqs[i] == static_cast<long long>(i + 1));
  }
}

}  // namespace

TEST_CASE_METHOD(WithStation, "readings, events and state arrive with every field of the contract") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));

  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));
  pty.write("T=21.5 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 21.5); }));

  const auto all = sub.messages();
  const auto readings = records(all, base + "/readings/kettle");
  REQUIRE(readings.size() == 1);
  const json& r = readings[0];
  INFO(r.dump());
  CHECK(r["seq"].is_number_integer());
  CHECK(std::regex_match(r["ts"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  CHECK(r["station"] == "bench-1");
  CHECK(r["device"] == "kettle");
  CHECK(r["quantity"] == "temperature");
  CHECK(r["value"] == 21.5);
  CHECK(r["unit"] == "degC");

  const auto started = events(all, "daemon.started");
  REQUIRE(started.size() == 1);
  CHECK(started[0]["seq"] == 1);
  CHECK(started[0]["station"] == "bench-1");
  CHECK(started[0]["version"].is_string());
  const auto online = events(all, "device.online");
  REQUIRE(online.size() == 1);
  CHECK(online[0]["device"] == "kettle");

  const auto status = sub.on(base + "/status");
  REQUIRE_FALSE(status.empty());
  const json s = parse(status.back());
  CHECK(s["online"] == true);
  CHECK(s["version"].is_string());
  CHECK(s["since"].is_string());
  CHECK(s["buffered"].is_number_integer());
  const auto state = sub.on(base + "/devices/kettle/state");
  REQUIRE_FALSE(state.empty());
  CHECK(parse(state.back())["online"] == true);
  CHECK(state.back().retained == false);  // live message; retained copies go to later subscribers

  // A subscriber that comes later gets the retained state at once.
  Subscriber late(broker.url(), base + "/+/kettle/state", "e2e-late");
  REQUIRE(late.wait_for([](const auto& m) { return !m.empty(); }));
  CHECK(late.messages()[0].retained);
}

TEST_CASE_METHOD(WithStation, "a graceful stop publishes daemon.stopped and the offline status, and exits 0") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));

  const auto t0 = std::chrono::steady_clock::now();
  tallyd.process->signal(SIGTERM);
  const auto code = tallyd.process->wait(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.stopped").empty(); }));
  CHECK(events(sub.messages(), "daemon.stopped")[0]["reason"] == "SIGTERM");
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/status") == json{{"online", false}}; }));
}

TEST_CASE_METHOD(WithStation, "a broker outage loses nothing: every record arrives, in seq order, without gaps") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));

  for (int i = 1; i <= 100; ++i) pty.write(line(i));
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 100); }));

  broker.stop();
  for (int i = 101; i <= 600; ++i) pty.write(line(i));
  REQUIRE(pty.wait_drained(30s));  // tallyd has read (and so buffered) every line while the broker was away
  broker.start();

  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 600); }, 30s));
  const auto all = sub.messages();
  require_contiguous(all);
  // Every value, in order (first arrivals).
  std::vector<double> values;
  std::set<long long> seen;
  for (const auto& r : records(all, base + "/readings/kettle"))
    if (seen.insert(r["seq"].get<long long>()).second) values.push_back(r["value"]);
  REQUIRE(values.size() == 600);
  for (int i = 0; i < 600; ++i) REQUIRE(values[i] == i + 1);
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation, "kill -9 under load: seq continues without reuse and nothing committed is lost") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));

  // Kill it while it is busy: lines still arriving, records in flight.
  std::thread writer([&] {
    for (int i = 1; i <= 3000; ++i) try { pty.write(line(i)); } catch (...) { return; }
  });
  REQUIRE(sub.wait_for([](const auto& all) { return records(all, base + "/readings/").size() >= 300; }, 20s));
  tallyd.process->signal(SIGKILL);
  writer.join();
  REQUIRE(tallyd.process->wait(5s).has_value());
  const auto before_restart = first_seqs(sub.messages());

  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }, 20s));
  for (int i = 5001; i <= 5100; ++i) pty.write(line(i));
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 5100); }, 20s));

  const auto all = sub.messages();
  require_contiguous(all);
  // No seq was reused: a seq that arrived twice carries the same record both times.
  std::map<long long, std::string> by_seq;
  for (const auto& r : records(all)) {
    auto [it, inserted] = by_seq.emplace(r["seq"].get<long long>(), r.dump());
    if (!inserted) REQUIRE(it->second == r.dump());
  }
  // The restart continued the sequence after everything delivered before the kill.
  const auto restarted = events(all, "daemon.started");
  CHECK(restarted[1]["seq"].get<long long>() > before_restart.back());
}

TEST_CASE_METHOD(WithStation,
                 "noise and an unplugged port do not stop tallyd, and the port is reopened when it returns") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));

  pty.write("\x01\x02\xff\xfe\x80 garbage\r\nT=\r\nT=1");  // noise, a line without a value, a partial line
  pty.write("9.5 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 19.5); }));
  CHECK(records(sub.messages(), base + "/readings/").size() == 1);

  REQUIRE(pty.wait_drained(30s));
  pty.unplug();
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.offline").empty(); }));
  const auto offline = events(sub.messages(), "device.offline")[0];
  CHECK(offline["device"] == "kettle");
  CHECK(offline["error"].get<std::string>().find(pty.link()) != std::string::npos);
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/devices/kettle/state")["online"] == false; }));
  const auto state = last_on(sub.messages(), base + "/devices/kettle/state");
  CHECK(state["online"] == false);
  CHECK(state["error"].is_string());
  CHECK(state["last_value"] == 19.5);

  pty.plug();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "device.online").size() == 2; }, 15s));
  pty.write("T=20.5 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 20.5); }));
  CHECK(parse(sub.on(base + "/devices/kettle/state").back())["online"] == true);
  CHECK(tallyd.process->running());
}

TEST_CASE_METHOD(WithStation, "a device missing at start-up is reported offline and picked up when it appears") {
  tallyd.start(config(serial_device("kettle", dir.file("ttyUSB0"))));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.offline").empty(); }));
  CHECK(events(sub.messages(), "device.offline")[0]["error"].get<std::string>().find("No such file") !=
        std::string::npos);
  Pty pty(dir.file("ttyUSB0"));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }, 15s));
  pty.write("T=3 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 3); }));
}

TEST_CASE_METHOD(WithStation, "a corrupt buffer file is moved aside, kept for inspection, and reported in the stream") {
  const std::string garbage(8192, 'x');
  dir.write("buffer.db", garbage);
  tallyd.start(config(""));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "buffer.corrupt").empty(); }));
  const auto ev = events(sub.messages(), "buffer.corrupt")[0];
  const std::string moved = ev["moved_to"];
  CHECK(moved.find(dir.file("buffer.db.corrupt-")) == 0);
  std::ifstream kept(moved, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  CHECK(content == garbage);
  CHECK(ev["seq"] == 1);
  CHECK(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 1; }));
}

TEST_CASE_METHOD(WithStation, "MQTT 5 carries the same stream") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link()), "version = \"5\"\n"));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));
  for (int i = 1; i <= 50; ++i) pty.write(line(i));
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 50); }));
  require_contiguous(sub.messages());
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(5s) == std::optional<int>(0));
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/status") == json{{"online", false}}; }));
}

TEST_CASE_METHOD(WithStation,
                 "a full buffer drops the oldest readings only and announces every gap with buffer.overflow") {
  Pty pty(dir.file("ttyUSB0"));
  broker.stop();  // the broker is away for the whole burst
  std::string config = station_config(broker, dir, serial_device("kettle", pty.link()));
  config.replace(config.find("[buffer]\n"), 9, "[buffer]\nmax_mb = 0.1\n");
  tallyd.start(config);
  REQUIRE(wait_until([&] { return tallyd.log().find("device kettle: online") != std::string::npos; }, 30s));
  for (int i = 1; i <= 3000; ++i) pty.write(line(i));
  REQUIRE(pty.wait_drained(30s));
  REQUIRE(wait_until([&] { return tallyd.log().find("buffer: full") != std::string::npos; }, 30s));
  broker.start();
  // Every missing seq lies in an announced range, and only readings are missing. The announcement follows the
  // commit that dropped, so it may arrive after the last reading: wait for the whole picture.
  REQUIRE(sub.wait_for([&](const auto& all) {
    return has_reading_value(all, 3000) && !events(all, "buffer.overflow").empty() && unannounced_seqs(all).empty();
  }, 30s));
  const auto all = sub.messages();
  const auto overflows = events(all, "buffer.overflow");
  const auto seqs = first_seqs(all);
  const std::set<long long> got(seqs.begin(), seqs.end());
  long long missing = 0;
  for (long long s = 1; s <= *got.rbegin(); ++s) missing += got.count(s) ? 0 : 1;
  long long dropped = 0;
  for (const auto& o : overflows) dropped += o["dropped"].get<long long>();
  CHECK(dropped == missing);
  CHECK(missing > 0);
  // Events survived: the start and the device coming online are both there.
  CHECK(events(all, "daemon.started").size() == 1);
  CHECK(events(all, "device.online").size() == 1);
}
