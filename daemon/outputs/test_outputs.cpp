// [[outputs]]: the configuration and the GPIO outputs on a fake board (FakeBoard records every level a line was
// set to, physical, as a scope on the pin would).
#include <catch2/catch.hpp>

#include "config/config.hpp"

#include "loop/event_loop.hpp"
#include "gpio/fake_gpio.hpp"
#include "outputs/gpio_outputs.hpp"
#include "config/config_problems.hpp"

using namespace tally;
using namespace std::chrono;
using test::has;
using test::problems;

namespace {

OutputConfig output(const std::string& name, const std::string& line, bool active_low = false) {
  OutputConfig o;
  o.name = name;
  o.line = line;
  o.active_low = active_low;
  return o;
}

struct Rig {
  EventLoop loop;
  std::shared_ptr<gpio::FakeBoard> board = std::make_shared<gpio::FakeBoard>();
  std::vector<std::pair<std::string, bool>> changes;
  std::unique_ptr<GpioOutputs> outputs;
  explicit Rig(std::vector<OutputConfig> configs) {
    outputs = std::make_unique<GpioOutputs>(
        configs, loop, [this](const std::string& n, bool on) { changes.emplace_back(n, on); },
        [this](const OutputConfig&) { return std::make_unique<gpio::FakeChip>(board); });
  }
  std::vector<bool> pin(const std::string& line) {
    std::lock_guard lock(board->mutex);
    return board->outputs[line].history;
  }
  bool run_until(const std::function<bool()>& done) {
    const auto end = steady_clock::now() + seconds(5);
    while (!done() && steady_clock::now() < end) loop.run_once(milliseconds(20));
    return done();
  }
};

}  // namespace

TEST_CASE("outputs start at their inactive level (also after a crash left them on), and are held on and off") {
  Rig rig({output("buzzer", "23"), output("red", "24", true)});
  // Requested inactive: low for the buzzer, HIGH for the active-low light.
  CHECK(rig.pin("23") == std::vector<bool>{false});
  CHECK(rig.pin("24") == std::vector<bool>{true});
  rig.outputs->hold("red", "kettle-overheat", true);
  rig.outputs->hold("red", "buffer.high", true);
  CHECK(rig.pin("24").back() == false);  // active low: on = pin low
  CHECK(rig.outputs->on("red"));
  rig.outputs->hold("red", "kettle-overheat", false);
  CHECK(rig.outputs->on("red"));  // still held by the other alarm
  rig.outputs->hold("red", "buffer.high", false);
  CHECK_FALSE(rig.outputs->on("red"));
  CHECK(rig.pin("24") == std::vector<bool>{true, false, true});
  CHECK(rig.changes == std::vector<std::pair<std::string, bool>>{{"red", true}, {"red", false}});

}

TEST_CASE("a line a crashed tallyd left on is back at its inactive level when tallyd starts again") {
  EventLoop loop;
  auto board = std::make_shared<gpio::FakeBoard>();
  {
    std::lock_guard lock(board->mutex);
    auto& pin = board->outputs["23"];  // what the kernel keeps after a process holding the line on was killed
    pin.requested = false;
    pin.level = true;
    pin.history = {false, true};
  }
  GpioOutputs outputs({output("buzzer", "23")}, loop, nullptr,
                      [&](const OutputConfig&) { return std::make_unique<gpio::FakeChip>(board); });
  std::lock_guard lock(board->mutex);
  CHECK(board->outputs["23"].level == false);
  CHECK(board->outputs["23"].requested);
}

TEST_CASE("an accepted pattern is one beep, a refused one three, then back to the held state") {
  Rig rig({output("buzzer", "23")});
  rig.outputs->play("buzzer", OutputPattern::accepted);
  CHECK(rig.outputs->on("buzzer"));
  REQUIRE(rig.run_until([&] { return !rig.outputs->on("buzzer"); }));
  CHECK(rig.pin("23") == std::vector<bool>{false, true, false});

  const auto start = steady_clock::now();
  rig.outputs->play("buzzer", OutputPattern::refused);
  REQUIRE(rig.run_until([&] { return rig.pin("23").size() == 8; }));
  CHECK(steady_clock::now() - start >= 4 * GpioOutputs::beep);
  CHECK(rig.pin("23") == std::vector<bool>{false, true, false, true, false, true, false, true});
  REQUIRE(rig.run_until([&] { return rig.pin("23").size() == 9; }));
  CHECK(rig.pin("23").back() == false);

  // Held on by an alarm: a pattern plays over it and returns to on.
  rig.outputs->hold("buzzer", "alarm", true);
  rig.outputs->play("buzzer", OutputPattern::accepted);
  REQUIRE(rig.run_until([&] { return rig.changes.size() >= 2 && rig.outputs->on("buzzer"); }));
  CHECK(rig.outputs->on("buzzer"));
}

TEST_CASE("release() sets every output inactive and hands the lines back") {
  Rig rig({output("buzzer", "23"), output("green", "GPIO24", true)});
  rig.outputs->hold("buzzer", "a", true);
  rig.outputs->hold("green", "a", true);
  rig.outputs->release();
  CHECK(rig.pin("23").back() == false);
  CHECK(rig.pin("GPIO24").back() == true);  // active low: inactive is high
  std::lock_guard lock(rig.board->mutex);
  CHECK_FALSE(rig.board->outputs["23"].requested);
  CHECK_FALSE(rig.board->outputs["GPIO24"].requested);
}

TEST_CASE("an output whose chip is missing is logged and left out, the others work") {
  EventLoop loop;
  GpioOutputs outputs({output("buzzer", "23")}, loop, nullptr,
                      [](const OutputConfig&) -> std::unique_ptr<gpio::Chip> { throw std::runtime_error("no chip"); });
  CHECK(outputs.has("buzzer"));
  outputs.hold("buzzer", "a", true);  // no crash
  CHECK(outputs.on("buzzer"));
}

TEST_CASE("[[outputs]] configuration: keys, line names, duplicates, feedback naming an output") {
  const std::string head = "[station]\nid = \"s\"\n";
  const Config c = parse_config(head + "[[outputs]]\nname = \"buzzer\"\nchip = \"pinctrl-rp1\"\nline = 23\n"
                                       "[[outputs]]\nname = \"red\"\nline = \"GPIO24\"\nactive_low = true\nfake = true\n",
                                "t.toml");
  REQUIRE(c.outputs.size() == 2);
  CHECK(c.outputs[0].chip == "pinctrl-rp1");
  CHECK(c.outputs[0].line == "23");
  CHECK(c.outputs[1].line == "GPIO24");
  CHECK(c.outputs[1].active_low);
  CHECK(c.outputs[1].fake);
  CHECK(c.warnings.empty());

  const auto p = problems(head + "[[outputs]]\nname = \"Buzzer\"\nline = 23\ncolour = 1\n"
                                 "[[outputs]]\nname = \"b\"\nline = 23\n"
                                 "[[outputs]]\nname = \"b\"\n"
                                 "[[devices]]\nname = \"eye\"\ndriver = \"gpio-counter\"\nline = 4\nfeedback = \"horn\"\n");
  CHECK(p.size() == 6);  // name pattern, unknown key, line reused, duplicate name, line missing, feedback unknown
  CHECK(has(p, "t.toml:6:1: outputs[1] (Buzzer): unknown key 'colour'"));
  CHECK(has(p, "t.toml:16:12: devices[1] (eye) feedback: no [[outputs]] named \"horn\""));
}
