// Issue #13 end to end: a full disk under tallyd, a damaged buffer file, hostile command publishers. Real
// mosquitto, a real tallyd process, a real (small) filesystem filled to the last block.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "support/pty.hpp"
#include "support/small_fs.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

const std::string fast_signal =
    "[[devices]]\nname = \"signal\"\ndriver = \"simulated\"\nquantity = \"temperature\"\nunit = \"degC\"\n"
    "waveform = \"ramp\"\nmin = 10\nmax = 20\npoll_ms = 5\n\n";

// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// A station and a subscriber to every topic on its broker, not only the station's: to see where replies go.
struct WithEverythingSubscribed : WithStation {
  WithEverythingSubscribed() : WithStation({.filter = "#"}) {}
};

}  // namespace

TEST_CASE_METHOD(WithStation,
                 "a full disk while the broker is down: bounded memory and CPU, an alarm, recovery when space returns") {
  SmallFilesystem fs(4u << 20);
  broker.stop();
  // A serial thermometer the test feeds: a flood until the in-memory queue reaches its bound (Buffer::kMemoryBound),
  // 500 lines a second while memory is measured, then silence so that the backlog drains when space returns.
  Pty probe(dir.file("ttyProbe"));
  std::atomic<int> lines_per_10ms{50};
  std::atomic<bool> feeding{true};
  std::thread feeder([&] {
    for (long i = 0; feeding; ++i) {
      std::string lines;
      for (int n = lines_per_10ms; n > 0; --n, ++i) lines += "T=" + std::to_string(20 + i % 500 / 10.0) + "\n";
      try {
        probe.write(lines);
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  struct Stop {
    std::atomic<bool>& feeding;
    std::thread& feeder;
    ~Stop() {
      feeding = false;
      feeder.join();
    }
  } stop{feeding, feeder};
  std::string config = station_config(broker, dir, serial_device("probe", probe.link()));
  config.replace(config.find(dir.file("buffer.db")), dir.file("buffer.db").size(), fs.file("buffer.db"));
  // Under AddressSanitizer freed blocks are held in a quarantine (256 MB by default) that would show as growth:
  // measure the daemon, not the quarantine. Ignored by an ordinary build.
  const char* asan = std::getenv("ASAN_OPTIONS");
  setenv("ASAN_OPTIONS", (std::string(asan ? asan : "") + ":quarantine_size_mb=1").c_str(), 1);
  tallyd.start(config);
  if (asan) setenv("ASAN_OPTIONS", asan, 1);
  else unsetenv("ASAN_OPTIONS");
  REQUIRE(wait_until([&] { return tallyd.log().find("device probe: online") != std::string::npos; }, 30s));
  std::this_thread::sleep_for(1s);  // a backlog on disk before it fills
  const int pid = tallyd.process->pid();
  const long rss_running = rss_kib(pid);
  fs.fill();
  REQUIRE(wait_until([&] { return tallyd.log().find("buffer: commit failed") != std::string::npos; }, 30s));
  // The queue in memory is bounded: past the bound the oldest readings go, reported like the disk bound.
  lines_per_10ms = 200;
  REQUIRE(wait_until([&] { return tallyd.log().find("queued in memory; dropped") != std::string::npos; }, 60s));

  // While the disk stays full: retries are paced, not one per wake-up, and memory no longer grows.
  lines_per_10ms = 5;
  const long rss_before = rss_kib(pid);
  const double cpu_before = cpu_seconds(pid);
  std::this_thread::sleep_for(6s);
  const double cpu_used = cpu_seconds(pid) - cpu_before;
  const long rss_after = rss_kib(pid);
  lines_per_10ms = 0;
  INFO("RSS " << rss_running << " KiB running, " << rss_before << " KiB at the bound, " << rss_after
             << " KiB 6 s later; CPU " << cpu_used << " s");
  CHECK(cpu_used < 1.5);  // of 6 s: well below a core even on a busy CI machine
  // What the full disk costs in memory is the bounded queue (2 MB of payloads, with their bookkeeping), whatever
  // the build: relative to the same process running normally, not an absolute figure that a sanitizer's shadow
  // memory would change.
  CHECK(rss_after - rss_running < 12 * 1024);  // measured: 5 MB; 8 MB under ASan (redzones around each record)
  CHECK(tallyd.process->running());

  fs.release();
  broker.start();
  const auto alarm = [](const std::vector<Message>& all, const std::string& transition) {
    for (const auto& e : events(all, transition))
      if (e["alarm"] == "buffer.disk") return e;
    return json();
  };
  // Some 20,000 records arrive: the cheap test (a string search, under the subscriber's lock) first, then the
  // parsing one outside it, so that a slow build does not hold up the subscriber until the broker drops messages.
  // The alarm.cleared event comes after the whole backlog: 10 s here, over 60 s under ASan, hence 180 s.
  REQUIRE(sub.wait_for([&](const auto& all) {
    return std::any_of(all.begin(), all.end(), [](const Message& m) {
      return m.payload.find("\"alarm.cleared\"") != std::string::npos &&
             m.payload.find("\"buffer.disk\"") != std::string::npos;
    });
  }, 180s));
  REQUIRE(wait_until([&] {
    const auto all = sub.messages();
    return !alarm(all, "alarm.raised").is_null() && unannounced_seqs(all).empty() && first_seqs(all).size() > 1000;
  }, 180s));
  const auto all = sub.messages();
  CHECK(alarm(all, "alarm.raised")["severity"] == "critical");
  CHECK(alarm(all, "alarm.raised")["message"].get<std::string>().find("full") != std::string::npos);
  CHECK(alarm(all, "alarm.raised")["seq"] < alarm(all, "alarm.cleared")["seq"]);
  // The readings taken while the disk was full arrived, but for those the memory bound dropped, each announced.
  CHECK(unannounced_seqs(all).empty());
  bool memory_overflow_announced = false;
  for (const auto& e : events(all, "buffer.overflow"))
    memory_overflow_announced |= e["reason"] == "memory" && e["dropped"].get<long>() > 0;
  CHECK(memory_overflow_announced);
  tallyd.process->signal(SIGTERM);
  CHECK(tallyd.process->wait(10s) == std::optional<int>(0));
}

namespace {

// Publishes one command over MQTT 5 with a response topic, as a careless or hostile client would.
void publish_v5(const Broker& broker, const std::string& payload, const std::string& response_topic) {
  const std::string command = "mosquitto_pub -V mqttv5 -q 1 -p " + std::to_string(broker.port()) +
                              " -h 127.0.0.1 -t '" + base + "/cmd' -D publish response-topic '" + response_topic +
                              "' -m '" + payload + "'";
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace

// Issue #13 item 4(b): `a/#` as a response topic made the broker disconnect tallyd 13 times in 20 s; the station's
// own events topic let anyone inject JSON into the record stream under tallyd's credentials.
TEST_CASE_METHOD(WithEverythingSubscribed,
                 "a hostile MQTT 5 response topic is refused: no disconnect, nothing injected into the stream") {
  tallyd.start(config("", "version = \"5\"\n"));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }, 30s));
  for (int i = 0; i < 5; ++i) publish_v5(broker, R"({"id":"w)" + std::to_string(i) + R"(","cmd":"status"})", "a/#");
  publish_v5(broker, R"({"id":"inject","cmd":"status"})", base + "/events");
  publish_v5(broker, R"({"id":"sys","cmd":"status"})", "$SYS/x");
  publish_v5(broker, R"({"id":"fine","cmd":"status"})", "clients/42/replies");
  publish_v5(broker, R"({"id":"own","cmd":"status"})", base + "/cmd/reply/ctl-7");
  REQUIRE(sub.wait_for([](const auto& all) {
    return !last_on(all, "clients/42/replies").is_null() && !last_on(all, base + "/cmd/reply/ctl-7").is_null() &&
           events(all, "command").size() >= 9;
  }, 30s));
  const auto all = sub.messages();
  // Refused ones are answered on B/cmd/reply with the reason, and change nothing.
  int refused = 0;
  for (const auto& m : sub.on(base + "/cmd/reply")) {
    const json reply = json::parse(m.payload);
    CHECK(reply["ok"] == false);
    CHECK(reply["error"].get<std::string>().rfind("response topic refused: ", 0) == 0);
    ++refused;
  }
  CHECK(refused == 7);
  CHECK(last_on(all, "clients/42/replies")["ok"] == true);
  CHECK(last_on(all, base + "/cmd/reply/ctl-7")["ok"] == true);
  // Nothing but records on B/events: every message there has a seq.
  for (const auto& m : sub.on(base + "/events")) CHECK(json::parse(m.payload).contains("seq"));
  CHECK(tallyd.log().find("connection lost") == std::string::npos);
  CHECK(tallyd.log().find("disconnected us") == std::string::npos);
}

// Issue #13 item 4(a, c): a flood of 64 KB commands grew the buffer to 95 MB against max_mb = 4; a `cmd` with a
// newline forged log lines.
TEST_CASE_METHOD(WithStation,
                 "a command flood is rate limited with an event, command events stay small, log lines cannot be forged") {
  tallyd.start(config(""));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }, 30s));
  sub.publish(base + "/cmd", R"({"id":"nl","cmd":"x\n[2026-11-29 07:00:00.000] [info] forged line"})");
  const std::string pad(7000, 'p');  // under the size limit: each is handled, and summarised in its event
  for (int i = 0; i < 300; ++i)
    sub.publish(base + "/cmd", R"({"id":")" + std::to_string(i) + R"(","cmd":"status","pad":")" + pad + R"("})");
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "command.rate_limited").empty(); }, 30s));
  const auto all = sub.messages();
  const auto limited = events(all, "command.rate_limited")[0];
  CHECK(limited["refused"].get<long long>() > 0);
  const auto commands = events(all, "command");
  CHECK(commands.size() < 300);
  for (const auto& m : all)
    if (m.topic == base + "/events") CHECK(m.payload.size() < 1024);  // summaries, not 7 KB payloads
  bool summarised = false;
  for (const auto& c : commands)
    if (c["cmd"] == "status" && c.contains("args"))
      summarised = summarised || c["args"]["pad"].get<std::string>().find("...(7000 bytes)") != std::string::npos;
  CHECK(summarised);
  // The newline is escaped in the log: no line of the log starts with the forged text.
  REQUIRE(wait_until([&] { return tallyd.log().find("forged line") != std::string::npos; }, 10s));
  const std::string log = tallyd.log();
  CHECK(log.find("\n[2026-11-29 07:00:00.000] [info] forged line") == std::string::npos);
  CHECK(log.find("x\\n[2026-11-29 07:00:00.000] [info] forged line") != std::string::npos);
  CHECK(tallyd.process->running());
}

// Issue #13 item 4(a): the queue between the MQTT client's thread and the event loop is bounded. A message too large
// to be read (issue #25 item 6: a 1 MB command got no reply at all) is dropped before it is copied, and its sender
// is answered with an error on its response topic or B/cmd/reply.
TEST_CASE_METHOD(WithStation,
                 "an oversized message on B/cmd is dropped before it is copied and answered with an error") {
  tallyd.start(config("", "version = \"5\"\n"));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }, 30s));
  sub.publish(base + "/cmd", R"({"id":"big","cmd":"status","pad":")" + std::string(1024 * 1024, 'p') + R"("})");
  sub.publish(base + "/cmd", R"({"id":"after","cmd":"status"})");
  REQUIRE(sub.wait_for([](const auto& all) {
    std::size_t replies = 0;
    for (const auto& m : all) replies += m.topic == base + "/cmd/reply";
    return replies >= 2;
  }, 15s));
  const auto replies = sub.on(base + "/cmd/reply");
  const json big = json::parse(replies[0].payload);
  CHECK(big["ok"] == false);
  CHECK(big["id"].is_null());  // never read: its id is unknown
  CHECK(big["error"] == "malformed command: 1048612 bytes, over the limit of 8192");
  CHECK(json::parse(replies[1].payload)["id"] == "after");
  CHECK(json::parse(replies[1].payload)["ok"] == true);
  CHECK(tallyd.process->running());
}

// Issue #13 item 7: a client that retried unit.add without a serial double-counted.
TEST_CASE_METHOD(WithStation,
                 "a retried command (same id) gets its first reply again and changes nothing, also after a restart") {
  tallyd.start(discrete(config("")));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }, 30s));
  const auto replies_to = [&](const std::string& id) {
    std::vector<json> out;
    for (const auto& m : sub.on(base + "/cmd/reply"))
      if (json::parse(m.payload)["id"] == id) out.push_back(json::parse(m.payload));
    return out;
  };
  const auto send_and_wait = [&](const std::string& payload, const std::string& id, std::size_t nth) {
    sub.publish(base + "/cmd", payload);
    REQUIRE(sub.wait_for([&](const auto&) { return replies_to(id).size() >= nth; }, 15s));
  };
  send_and_wait(R"({"id":"wo","cmd":"work_order.start","work_order":"WO-1"})", "wo", 1);
  send_and_wait(R"({"id":"u1","cmd":"unit.add"})", "u1", 1);
  send_and_wait(R"({"id":"u1","cmd":"unit.add"})", "u1", 2);
  CHECK(replies_to("u1")[0] == replies_to("u1")[1]);
  CHECK(records(sub.messages(), base + "/units").size() == 1);
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(10s) == std::optional<int>(0));
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() >= 2; }, 30s));
  REQUIRE(wait_until([&] { return tallyd.log().find("subscribed") != std::string::npos ||
                                  tallyd.log().find("connected") != std::string::npos; }, 30s));
  send_and_wait(R"({"id":"u1","cmd":"unit.add"})", "u1", 3);
  CHECK(replies_to("u1")[2] == replies_to("u1")[0]);
  send_and_wait(R"({"id":"u2","cmd":"unit.add"})", "u2", 1);
  CHECK(replies_to("u2")[0]["ok"] == true);
  REQUIRE(sub.wait_for([](const auto& all) { return unique_records(all, base + "/units").size() >= 2; }, 15s));
  const auto units = unique_records(sub.messages(), base + "/units");
  REQUIRE(units.size() == 2);
  CHECK(units[1]["unit_no"] == 2);
}

// Issue #13: serial noise drove the log (the 1st drop, then every 1000th: 100 lines/s under a 100k frames/s flood).
// Now the first drop is logged at once, then at most one line a minute per device with the count since the last
// line, and the summary still owed when tallyd stops.
TEST_CASE_METHOD(WithStation, "a serial noise flood logs the first drop and one summary, not a line per 1000 drops") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));
  std::string noise;
  for (int i = 0; i < 20000; ++i) noise += "\x01\x02 noise\r\n";
  pty.write(noise + "T=21.5 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return has_reading_value(all, 21.5); }, 30s));
  const auto drop_lines = [&] {
    std::vector<std::string> lines;
    std::istringstream in(tallyd.log());
    for (std::string line; std::getline(in, line);)
      if (line.find("dropped input") != std::string::npos) lines.push_back(line);
    return lines;
  };
  INFO(tallyd.log());
  REQUIRE(drop_lines().size() == 1);  // before: 21 lines
  CHECK(drop_lines()[0].find("device kettle: dropped input: noise; 1 dropped so far") != std::string::npos);
  tallyd.process->signal(SIGTERM);
  REQUIRE(tallyd.process->wait(15s) == std::optional<int>(0));
  REQUIRE(drop_lines().size() == 2);
  CHECK(drop_lines()[1].find("19999 since the last line (noise: 19999); 20000 dropped so far") != std::string::npos);
}
