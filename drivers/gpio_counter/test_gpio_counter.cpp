// Debounce on bouncing edge sequences (pure), then the gpio-counter driver on a fake chip whose edges carry
// kernel-style CLOCK_MONOTONIC timestamps and whose descriptor is a real eventfd/timerfd.
#include <catch2/catch.hpp>

#include <fstream>

#include <poll.h>

#include "driver_testing.hpp"
#include "fake_gpio.hpp"
#include "gpio_counter/gpio_counter.hpp"
#include "support/wait.hpp"

using namespace tally;
using namespace std::chrono_literals;
using gpio_counter::Debouncer;

TEST_CASE("a clean press is accepted once it has held for the window, dated at its edge") {
  Debouncer d(false, 20ms);
  d.edge(true, 1000ms);
  CHECK_FALSE(d.settle(1019ms));
  CHECK(d.deadline() == std::chrono::nanoseconds(1020ms));
  const auto t = d.settle(1020ms);
  REQUIRE(t);
  CHECK(t->level);
  CHECK(t->at == 1000ms);
  CHECK_FALSE(d.settle(5000ms));
  CHECK_FALSE(d.deadline());
}

TEST_CASE("a bouncing contact is one transition, dated at its first edge") {
  // A switch closing with 5 bounces 300 us apart, then opening with 3.
  Debouncer d(false, 10ms);
  std::chrono::nanoseconds t = 0ns;
  bool level = false;
  for (int i = 0; i < 11; ++i, t += 300us) {
    level = !level;
    CHECK_FALSE(d.settle(t));
    d.edge(level, t);
  }
  REQUIRE(level);
  const auto closed = d.settle(t + 10ms);
  REQUIRE(closed);
  CHECK(closed->level);
  CHECK(closed->at == 0ns);
  const auto open_at = 500ms;
  for (int i = 0; i < 7; ++i) d.edge(i % 2 == 0 ? false : true, open_at + i * 300us);
  const auto opened = d.settle(open_at + 2s);
  REQUIRE(opened);
  CHECK_FALSE(opened->level);
  CHECK(opened->at == open_at);
}

TEST_CASE("a spike shorter than the window that returns to the old level is nothing") {
  Debouncer d(false, 20ms);
  d.edge(true, 0ms);
  d.edge(false, 2ms);
  CHECK_FALSE(d.settle(100ms));
  CHECK_FALSE(d.level());
}

TEST_CASE("with edges read in a batch, each burst settles on its own timestamps") {
  Debouncer d(false, 5ms);
  // press at 0 (bounce), release at 50 ms: both only read at 200 ms
  const std::pair<bool, std::chrono::nanoseconds> edges[] = {{true, 0ms}, {false, 1ms}, {true, 2ms}, {false, 50ms}};
  std::vector<gpio_counter::Transition> got;
  for (const auto& [level, t] : edges) {
    if (auto tr = d.settle(t)) got.push_back(*tr);
    d.edge(level, t);
  }
  if (auto tr = d.settle(200ms)) got.push_back(*tr);
  REQUIRE(got.size() == 2);
  CHECK(got[0].level);
  CHECK(got[0].at == 0ms);
  CHECK_FALSE(got[1].level);
  CHECK(got[1].at == 50ms);
}

namespace {

struct CounterRig {
  std::shared_ptr<gpio::FakeBoard> board = std::make_shared<gpio::FakeBoard>();
  std::unique_ptr<Driver> driver;
  test::RecordingSink got;

  CounterRig(gpio::Edge edge, PulseKind kind) {
    gpio_counter::Settings s;
    s.line = "17";
    s.edge = edge;
    s.counts = kind;
    s.debounce = 10ms;
    s.open_chip = [b = board] { return std::make_unique<gpio::FakeChip>(b); };
    driver = gpio_counter::make(s);
    driver->open();
  }
  // A bouncing press and release, `bounces` pairs each, ending `ago` before now.
  void press_and_release(std::chrono::milliseconds ago, int bounces) {
    const auto now = std::chrono::steady_clock::now();
    auto t = now - ago;
    for (bool to : {true, false}) {
      for (int i = 0; i < bounces; ++i) {
        board->edge("17", to, t);
        board->edge("17", !to, t + 100us);
        t += 200us;
      }
      board->edge("17", to, t);
      t += 40ms;  // held (or released) for longer than the window
    }
  }
  bool readable() {
    pollfd p{driver->fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
};

}  // namespace

TEST_CASE("gpio-counter counts one pulse per bouncing press on the rising edge, from the line's descriptor") {
  CounterRig rig(gpio::Edge::rising, PulseKind::units);
  REQUIRE(rig.driver->fd() >= 0);
  CHECK_FALSE(rig.readable());
  rig.press_and_release(200ms, 4);
  CHECK(rig.readable());
  rig.driver->collect(rig.got);
  CHECK_FALSE(rig.readable());  // drained
  REQUIRE(rig.got.pulses.size() == 1);
  CHECK(rig.got.pulses[0].kind == PulseKind::units);
  CHECK(rig.got.pulses[0].count == 1);
  const auto age = std::chrono::steady_clock::now() - rig.got.pulses[0].mono;
  CHECK(age >= 200ms);  // dated at the press, not at the read
  CHECK(age < 1s);
}

TEST_CASE("gpio-counter edge selection: falling counts releases, both counts both") {
  CounterRig falling(gpio::Edge::falling, PulseKind::rejects);
  falling.press_and_release(200ms, 2);
  falling.press_and_release(100ms, 0);
  falling.driver->collect(falling.got);
  CHECK(falling.got.pulses.size() == 2);
  CounterRig both(gpio::Edge::both, PulseKind::pulses);
  both.press_and_release(200ms, 3);
  both.driver->collect(both.got);
  CHECK(both.got.pulses.size() == 2);
}

TEST_CASE("gpio-counter asks to be woken when the window closes after the last edge") {
  CounterRig rig(gpio::Edge::rising, PulseKind::pulses);
  rig.board->edge("17", true, std::chrono::steady_clock::now());
  rig.driver->collect(rig.got);
  CHECK(rig.got.pulses.empty());  // still inside the window
  REQUIRE(rig.got.wakeups.size() == 1);
  CHECK(rig.got.wakeups[0] >= 1ms);
  CHECK(rig.got.wakeups[0] <= 11ms);
  // No more edges: the wake-up alone accepts the press.
  REQUIRE(test::wait_until([&] {
    rig.driver->collect(rig.got);
    return !rig.got.pulses.empty();
  }, 2s));
  CHECK(rig.got.pulses.size() == 1);
}

TEST_CASE("the fake photo-eye (fake = {...}) bounces, and the counter still counts one per part") {
  auto d = test::make_driver(&gpio_counter::configure,
                             "[[devices]]\nname = \"eye\"\ndriver = \"gpio-counter\"\nline = \"GPIO17\"\n"
                             "debounce_ms = 5\ncounts = \"units\"\nfake = { every_ms = 100, hold_ms = 30, bounces = 3 }\n");
  d->open();
  test::RecordingSink got;
  const auto start = std::chrono::steady_clock::now();
  test::wait_until([&] {
    pollfd p{d->fd(), POLLIN, 0};
    ::poll(&p, 1, 5);
    d->collect(got);  // also what a wake-up does
    return got.pulses.size() >= 5;
  }, 3s);
  REQUIRE(got.pulses.size() == 5);
  CHECK(std::chrono::steady_clock::now() - start >= 500ms);  // one per 100 ms, the bounces not counted
  for (std::size_t i = 1; i < got.pulses.size(); ++i) {
    const auto gap = got.pulses[i].mono - got.pulses[i - 1].mono;
    CHECK(gap > 90ms);
    CHECK(gap < 110ms);
  }
}

TEST_CASE("gpio-counter configuration") {
  const std::string head = "[[devices]]\nname = \"eye\"\ndriver = \"gpio-counter\"\n";
  CHECK(test::configure_driver(&gpio_counter::configure, head + "line = 17\nedge = \"both\"\nbias = \"pull-up\"\n"
                                                                "active_low = true\ncounts = \"rejects\"\n")
            .problems.empty());
  CHECK(test::configure_driver(&gpio_counter::configure, head + "line = 17\nedge = \"up\"\ncounts = \"parts\"\n")
            .problems.size() == 2);
  CHECK(test::configure_driver(&gpio_counter::configure, head + "line = 1.5\n").problems.size() == 1);
  CHECK(test::configure_driver(&gpio_counter::configure, head + "line = 4\nfake = { every_ms = 10, hold_ms = 10 }\n")
            .problems.size() == 1);
}

TEST_CASE("gpio_counter sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/gpio_counter/sample.toml");
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t n = test::device_count(sample);
  REQUIRE(n >= 2);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(i);
    CHECK(test::configure_driver(&gpio_counter::configure, sample, "sample.toml", i).problems.empty());
  }
}
