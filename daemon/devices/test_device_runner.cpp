// DeviceRunner with a scripted driver and the real event loop: back-off, online/offline, drivers that throw
// anything from open() or collect(), wake-ups, and what the deadband filters.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <system_error>

#include "devices/device_runner.hpp"
#include "devices/scripted_driver.hpp"
#include "api/device_error.hpp"

using namespace tally;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

using test::Script;
using test::ScriptedDriver;

// What the runner handed on, as the station would have seen it.
struct Recorded final : DeviceRunner::Listener {
  std::vector<Reading> readings;
  std::vector<Scan> scans;
  std::vector<Pulse> pulses;
  std::vector<std::pair<bool, std::string>> states;
  bool throw_on_reading = false;
  void reading(const DeviceConfig&, const Reading& r) override {
    if (throw_on_reading) throw std::runtime_error("station bug");
    readings.push_back(r);
  }
  void scan(const DeviceConfig&, const Scan& s) override { scans.push_back(s); }
  void pulse(const DeviceConfig&, const Pulse& p) override { pulses.push_back(p); }
  void state_changed(const DeviceRunner& d) override { states.emplace_back(d.online(), d.error()); }
};

struct Rig {
  EventLoop loop;
  Script script;
  Recorded recorded;
  std::vector<Reading>& readings = recorded.readings;
  std::vector<Scan>& scans = recorded.scans;
  std::vector<Pulse>& pulses = recorded.pulses;
  std::vector<std::pair<bool, std::string>>& states = recorded.states;
  std::unique_ptr<DeviceRunner> runner;

  explicit Rig(double deadband = 0) {
    DeviceConfig c;
    c.name = "dev";
    c.driver = "scripted";
    c.deadband = deadband;
    c.make = [this] { return std::make_unique<ScriptedDriver>(script); };
    runner = std::make_unique<DeviceRunner>(c, loop, recorded);
  }
  void run_for(std::chrono::milliseconds d) {
    const auto end = Clock::now() + d;
    while (Clock::now() < end) loop.run_once(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()));
  }
};

// The log lines written while it lives (the default logger replaced by one writing into a string).
struct CapturedLog {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  CapturedLog() {
    auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous); }
  std::vector<std::string> lines() const {
    std::vector<std::string> all;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);)
      if (line.find("dropped") != std::string::npos) all.push_back(line);
    return all;
  }
};

// A pipe whose read end stays readable: a level-triggered fd that a failing collect() never drains.
struct ReadablePipe {
  int fds[2];
  ReadablePipe() {
    REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
    REQUIRE(::write(fds[1], "x", 1) == 1);
  }
  ~ReadablePipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

}  // namespace

TEST_CASE("a device that cannot be opened is offline with its error and retried with growing back-off") {
  Rig r;
  int failures = 3;
  r.script.on_open = [&] {
    if (failures-- > 0) throw device_error(ENOENT, "open /dev/ttyUSB9: No such file or directory");
  };
  r.runner->start();
  REQUIRE(r.states.size() == 1);
  CHECK_FALSE(r.states[0].first);
  CHECK(r.states[0].second.find("No such file") != std::string::npos);
  CHECK(r.runner->error().find("No such file") != std::string::npos);
  // Waits (with a deadline) for the fourth attempt to succeed: 0.25 + 0.5 + 1 s of back-off.
  const auto deadline = Clock::now() + 5s;
  while (!r.runner->online() && Clock::now() < deadline) r.loop.run_once(50ms);
  REQUIRE(r.runner->online());
  REQUIRE(r.script.opens.size() == 4);  // 3 failures, then it opened
  REQUIRE(r.states.size() == 2);  // one offline, one online: retries are not reported again
  CHECK(r.states[1].first);
  const auto gap = [&](int i) { return r.script.opens[i + 1] - r.script.opens[i]; };
  CHECK(gap(0) >= 240ms);
  CHECK(gap(1) >= 490ms);
  CHECK(gap(2) >= 990ms);
}

TEST_CASE("a driver that throws std::system_error or anything else from open() does not stop the runner") {
  Rig r;
  int calls = 0;
  r.script.on_open = [&] {
    ++calls;
    if (calls == 1) throw std::system_error(EBUSY, std::generic_category(), "request line 17");
    if (calls == 2) throw 42;  // not even an exception class
  };
  r.runner->start();
  CHECK(r.runner->error().find("request line 17") != std::string::npos);
  const auto deadline = Clock::now() + 5s;
  while (!r.runner->online() && Clock::now() < deadline) r.loop.run_once(50ms);
  CHECK(calls == 3);
  CHECK(r.runner->online());
}

TEST_CASE("a throwing collect() on a readable fd takes the device offline without spinning") {
  Rig r;
  ReadablePipe pipe;
  r.script.fd = pipe.fds[0];
  r.script.on_collect = [](InputSink&) { throw std::runtime_error("line event read failed"); };
  r.runner->start();
  r.run_for(600ms);
  // Opened at 0, 250 ms: at most one collect per open, not thousands.
  CHECK(r.script.collects <= 3);
  CHECK(r.script.collects >= 1);
  CHECK_FALSE(r.runner->online());
  CHECK(r.runner->error() == "driver failed: line event read failed");
  CHECK(r.script.closes >= 1);
}

TEST_CASE("wake_after() calls collect() again after the delay, and stop() cancels it") {
  Rig r;
  ReadablePipe pipe;
  char byte;
  r.script.fd = pipe.fds[0];
  std::vector<Clock::time_point> at;
  r.script.on_collect = [&](InputSink& sink) {
    at.push_back(Clock::now());
    (void)!::read(pipe.fds[0], &byte, 1);  // drain: only the wake-up can call again
    if (at.size() == 1) sink.wake_after(50ms);
  };
  r.runner->start();
  r.run_for(300ms);
  REQUIRE(at.size() == 2);
  CHECK(at[1] - at[0] >= 45ms);
  // A wake-up pending at stop() never fires.
  REQUIRE(::write(pipe.fds[1], "x", 1) == 1);
  r.script.on_collect = [&](InputSink& sink) {
    at.push_back(Clock::now());
    (void)!::read(pipe.fds[0], &byte, 1);
    sink.wake_after(30ms);
  };
  r.run_for(10ms);
  const auto before = at.size();
  r.runner->stop();
  r.run_for(100ms);
  CHECK(at.size() == before);
}

TEST_CASE("the deadband filters readings only: every scan and pulse passes") {
  Rig r(/*deadband=*/5.0);
  ReadablePipe pipe;
  r.script.fd = pipe.fds[0];
  r.script.on_collect = [&](InputSink& sink) {
    char byte;
    (void)!::read(pipe.fds[0], &byte, 1);
    for (double v : {20.0, 21.0, 22.0, 30.0}) sink.reading(Reading::measured("temperature", v, "degC"));
    for (int i = 0; i < 3; ++i) sink.scan(Scan{"4006381333931", "", std::chrono::system_clock::now()});
    for (int i = 0; i < 3; ++i) sink.pulse(Pulse{PulseKind::units, 1, Clock::now(), std::chrono::system_clock::now()});
  };
  r.runner->start();
  r.run_for(50ms);
  REQUIRE(r.readings.size() == 2);
  CHECK(r.readings[0].value == 20.0);
  CHECK(r.readings[1].value == 30.0);
  CHECK(r.scans.size() == 3);
  CHECK(r.pulses.size() == 3);
}

TEST_CASE("a listener that throws is logged and does not take the device offline") {
  Rig r;
  r.recorded.throw_on_reading = true;
  ReadablePipe pipe;
  r.script.fd = pipe.fds[0];
  r.script.on_collect = [&](InputSink& sink) {
    char byte;
    (void)!::read(pipe.fds[0], &byte, 1);
    sink.reading(Reading::measured("temperature", 1.0, "degC"));
  };
  r.runner->start();
  r.run_for(50ms);
  CHECK(r.script.collects == 1);
  CHECK(r.runner->online());
}

TEST_CASE("a request/response device is online only once it produced input, and its back-off keeps growing while silent") {
  struct Silent final : Driver {
    Script& s;
    explicit Silent(Script& s) : s(s) {}
    void open() override { s.opens.push_back(Clock::now()); }
    void close() noexcept override {}
    std::chrono::milliseconds poll_interval() const noexcept override { return 20ms; }
    void collect(InputSink&) override { throw device_error(ETIMEDOUT, "no answer"); }
    bool confirms_online() const noexcept override { return true; }
  };
  EventLoop loop;
  Script script;
  Recorded recorded;
  DeviceConfig c;
  c.name = "scale";
  c.make = [&] { return std::make_unique<Silent>(script); };
  DeviceRunner runner(c, loop, recorded);
  runner.start();
  const auto end = Clock::now() + 1s;
  while (Clock::now() < end) loop.run_once(10ms);
  REQUIRE(recorded.states.size() == 1);  // never online
  CHECK_FALSE(recorded.states[0].first);
  // Opens at ~0, 270, 790 ms: the gaps grow although each open succeeded.
  REQUIRE(script.opens.size() >= 2);
  REQUIRE(script.opens.size() <= 3);
}

TEST_CASE("a flood of dropped input logs the first drop at once and then one summary, not a line per 1000") {
  CapturedLog log;
  Rig r;
  ReadablePipe pipe;
  r.script.fd = pipe.fds[0];
  r.script.on_collect = [&](InputSink& sink) {
    char byte;
    (void)!::read(pipe.fds[0], &byte, 1);
    for (int i = 0; i < 99999; ++i) sink.dropped("bad checksum");
    sink.dropped("frame too long");
  };
  r.runner->start();
  const auto deadline = Clock::now() + 5s;
  while (r.script.collects == 0 && Clock::now() < deadline) r.loop.run_once(50ms);
  REQUIRE(r.script.collects == 1);
  CHECK(r.runner->dropped() == 100000);
  // Under the old count-based limit: 101 lines.
  REQUIRE(log.lines() == std::vector<std::string>{"device dev: dropped input: bad checksum; 1 dropped so far"});
  r.runner.reset();  // a reload or the shutdown: the summary still owed is logged
  REQUIRE(log.lines().size() == 2);
  CHECK(log.lines()[1] ==
        "device dev: dropped input: 99999 since the last line (bad checksum: 99998, frame too long: 1); 100000 "
        "dropped so far");
}

TEST_CASE("DropLog: at most one line per minute, with the count since the last line, its reasons escaped and bounded") {
  using namespace std::chrono;
  DropLog d;
  const auto t0 = DropLog::clock::time_point(hours(1));
  CHECK_FALSE(d.next_line().has_value());
  CHECK(d.note("noise\nFAKE LOG LINE", t0) == "dropped input: noise\\nFAKE LOG LINE; 1 dropped so far");
  CHECK_FALSE(d.next_line().has_value());
  // 1,000 drops a second for ten and a half minutes: one line a minute.
  int lines = 0;
  for (int ms = 1; ms <= 630000; ++ms)
    if (d.note("reason " + std::to_string(ms % 12), t0 + milliseconds(ms))) ++lines;
  CHECK(lines == 10);
  CHECK(d.total() == 630001);
  // The last minute's drops since the line at t0 + 600 s: owed, due a minute after that line.
  REQUIRE(d.next_line() == t0 + seconds(660));
  const auto owed = d.flush(t0 + seconds(660));
  REQUIRE(owed.has_value());
  // Eight reasons by name, the other four as "other".
  CHECK(owed->find("reason 1: ") != std::string::npos);  // the first eight after the last line: 1..8
  CHECK(owed->find("reason 8: ") != std::string::npos);
  CHECK(owed->find("reason 9: ") == std::string::npos);
  CHECK(owed->find(", other: ") != std::string::npos);
  CHECK(owed->find("; 630001 dropped so far") != std::string::npos);
  CHECK_FALSE(d.flush(t0 + seconds(661)).has_value());
  CHECK_FALSE(d.next_line().has_value());
  // Quiet for long: the next drop is logged at once, as a count since the last line.
  CHECK(d.note("x", t0 + hours(2)) == "dropped input: 1 since the last line (x: 1); 630002 dropped so far");
}
