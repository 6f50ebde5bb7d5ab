// The hx711 driver against an HX711 model that answers the clocking (gpio/fake_gpio.hpp): the bit-banging, its
// timing guard and the sample filtering run for real, only the pins are simulated.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include "driver_testing.hpp"
#include "fake_gpio.hpp"
#include "hx711/hx711.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;

namespace {

struct Rig {
  std::shared_ptr<gpio::Hx711Model> model = std::make_shared<gpio::Hx711Model>();
  hx711::Settings settings;
  std::unique_ptr<Driver> driver;
  test::RecordingSink got;

  explicit Rig(std::vector<std::int32_t> values, int gain = 128) {
    model->values = std::move(values);
    model->period = std::chrono::microseconds(2000);
    settings.dout = "5";
    settings.sck = "6";
    settings.gain = gain;
    settings.samples = 5;
    settings.unit = "g";
    settings.open_chip = [m = model] { return std::make_unique<gpio::Hx711Chip>(m); };
    // Only the preemption test is about timing: elsewhere a test process preempted mid-read (a loaded machine, a
    // sanitizer build) must not change the values read, so neither the guard nor the model's power-down fires.
    settings.max_clock_high = std::chrono::seconds(1);
    model->power_down_after = std::chrono::seconds(1);
  }
  void datasheet_timing() {
    settings.max_clock_high = hx711::max_clock_high;
    model->power_down_after = std::chrono::microseconds(60);
  }
  void open() {
    driver = hx711::make(settings);
    driver->open();
  }
  // Collects like the runner does (again whenever the driver asked to be woken) until `n` readings or 5 s.
  bool until_readings(std::size_t n) {
    return test::wait_until([&] {
      driver->collect(got);
      return got.readings.size() >= n;
    }, std::chrono::seconds(5));
  }
};

}  // namespace

TEST_CASE("HX711 24-bit two's complement (shared/reference/devices.md vectors)") {
  CHECK(hx711::decode(0x000064) == 100);
  CHECK(hx711::decode(0xFFFF9C) == -100);
  CHECK(hx711::decode(0x7FFFFF) == 8388607);
  CHECK(hx711::decode(0x800000) == -8388608);
  CHECK(hx711::decode(0xFFFFFF) == -1);
  CHECK(hx711::decode(0x000000) == 0);
}

TEST_CASE("HX711 glitch values are 0 and 2^n - 1, ordinary and full-scale negative values are not") {
  for (std::uint32_t w : {0x000000u, 0x7FFFFFu, 0x3FFFFFu, 0x1FFFFFu, 0x0FFFFFu, 0xFFFFFFu})
    CHECK(hx711::glitch(w));
  for (std::uint32_t w : {0x000064u, 0x800000u, 0x123456u, 0xFFFF9Cu, 0x7FFFFEu})
    CHECK_FALSE(hx711::glitch(w));
}

TEST_CASE("median of samples, odd and even counts") {
  CHECK(hx711::median({5, 1, 9}) == 5);
  CHECK(hx711::median({100, -3, 7, 8388607, 6}) == 7);  // a spike does not move it
  CHECK(hx711::median({1, 2, 3, 4}) == 2.5);
}

TEST_CASE("HX711 bit sequence: 24 bits MSB first, then 1, 2 or 3 pulses choosing the next gain") {
  auto model = std::make_shared<gpio::Hx711Model>();
  model->values = {0x123456, -100};
  model->period = std::chrono::microseconds(0);
  gpio::Hx711Chip chip(model);
  auto sck = chip.request_output("6", false, false);
  auto dout = chip.request_input("5", gpio::Bias::as_is, false);
  REQUIRE(test::wait_until([&] { return !dout->get(); }));  // ready
  auto s = hx711::clock_out(*sck, *dout, hx711::pulses_for_gain(64));
  CHECK(s.word == 0x123456);
  CHECK(s.dout_high_after);
  CHECK(model->pulses_per_read == std::vector<int>{27});
  CHECK(model->gain == 64);
  test::wait_until([&] { return !dout->get(); });
  s = hx711::clock_out(*sck, *dout, hx711::pulses_for_gain(32));
  CHECK(hx711::decode(s.word) == -100);
  CHECK(model->gain == 32);
  CHECK(model->pulses_per_read == std::vector<int>{27, 26});
  CHECK(hx711::pulses_for_gain(128) == 25);
}

TEST_CASE("hx711 publishes the median of samples as (raw - offset) / scale, skipping glitches and the settling read") {
  Rig rig({7777, 1000, 1010, 8388607, 990, 0, 1005, 995});
  rig.settings.offset = 800;
  rig.settings.scale = 2;
  rig.open();
  REQUIRE(rig.until_readings(1));
  CHECK(rig.got.readings[0].value == 100.0);  // median 1000
  CHECK(rig.got.readings[0].quantity == "mass");
  CHECK(rig.got.readings[0].unit == "g");
  CHECK(rig.got.drops == std::vector<std::string>{"glitch value", "glitch value"});
  for (int pulses : rig.model->pulses_per_read) CHECK(pulses == 25);
  CHECK_FALSE(rig.got.wakeups.empty());  // it waited for DOUT without blocking
}

TEST_CASE("hx711 gain 32 selects channel B with 26 pulses per read") {
  Rig rig({500}, 32);
  rig.open();
  REQUIRE(rig.until_readings(1));
  CHECK(rig.got.readings[0].value == 500.0);
  for (int pulses : rig.model->pulses_per_read) CHECK(pulses == 26);
  CHECK(rig.model->gain == 32);
}

TEST_CASE("a read whose clock stayed high too long (preempted) is discarded, and the read after it too") {
  Rig rig({1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000});
  rig.datasheet_timing();
  rig.model->stall_on_bit = 7;  // the first read (the settling one) is preempted at bit 7
  rig.model->stall = std::chrono::microseconds(200);
  rig.open();
  REQUIRE(rig.until_readings(1));
  CHECK(rig.got.readings[0].value == 1000.0);
  CHECK(rig.got.drops == std::vector<std::string>{"clock held high too long (preempted read)"});
  CHECK(rig.model->power_downs == 1);  // the model saw the > 60 us high phase, like the chip would
}

TEST_CASE("a read after which DOUT is not high again is discarded") {
  Rig rig({1000});
  rig.open();
  rig.model->dout_stuck_low = true;
  REQUIRE(rig.until_readings(1));
  CHECK(rig.got.drops == std::vector<std::string>{"DOUT not high after the gain pulses (read out of step)"});
  CHECK(rig.got.readings[0].value == 1000.0);
}

TEST_CASE("hx711 faults: full scale every time is an overload, negative full scale an underload, no DOUT not-ready") {
  SECTION("overload") {
    Rig rig({8388607});
    rig.open();
    REQUIRE(rig.until_readings(1));
    CHECK(rig.got.readings[0].fault == "overload");
    CHECK_FALSE(rig.got.readings[0].value);
  }
  SECTION("underload") {
    Rig rig({-8388608});
    rig.open();
    REQUIRE(rig.until_readings(1));
    CHECK(rig.got.readings[0].fault == "underload");
  }
  SECTION("not ready") {
    Rig rig({1});
    rig.model->period = std::chrono::seconds(30);
    rig.settings.not_ready_after = std::chrono::milliseconds(50);
    rig.open();
    REQUIRE(rig.until_readings(1));
    CHECK(rig.got.readings[0].fault == "not-ready");
  }
}

TEST_CASE("the raw command answers with the next median in raw counts (for tallyctl calibrate)") {
  Rig rig({123456});
  rig.settings.offset = 100000;
  rig.open();
  std::string answer;
  bool ok = false;
  REQUIRE(rig.driver->start_command("raw", [&](bool o, std::string d) { ok = o, answer = d; }));
  CHECK_FALSE(rig.driver->start_command("tare", [](bool, std::string) {}));
  REQUIRE(rig.until_readings(1));
  CHECK(ok);
  CHECK(answer == "123456");
  CHECK(rig.got.readings[0].value == 23456.0);
}

TEST_CASE("hx711 configuration: line numbers or names, gain, scale, the fake chip") {
  const std::string head = "[[devices]]\nname = \"scale\"\ndriver = \"hx711\"\n";
  auto c = test::configure_driver(&hx711::configure, head + "dout = 5\nsck = \"GPIO6\"\ngain = 64\nscale = 420.5\n");
  CHECK(c.problems.empty());
  c = test::configure_driver(&hx711::configure, head + "dout = 5\nsck = 5\ngain = 100\nscale = 0\n");
  CHECK(c.problems.size() == 3);
  c = test::configure_driver(&hx711::configure, head + "sck = 6\n");
  CHECK(c.problems.size() == 1);  // dout missing
  c = test::configure_driver(&hx711::configure, head + "dout = 5\nsck = 6\nfake = { raw = [9999999] }\n");
  CHECK(c.problems.size() == 1);

  auto d = test::make_driver(&hx711::configure, head + "dout = 5\nsck = 6\nsamples = 3\noffset = 8000\nscale = 100\n"
                                                        "unit = \"g\"\nfake = { raw = [8000, 58000], repeat = 4, sps = 500 }\n");
  d->open();
  test::RecordingSink got;
  test::wait_until([&] {
    d->collect(got);
    return got.readings.size() >= 2;
  }, std::chrono::seconds(5));
  REQUIRE(got.readings.size() >= 2);
  CHECK(got.readings[0].value == 0.0);
  CHECK(got.readings[1].value == 500.0);
}

TEST_CASE("hx711 sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/hx711/sample.toml");
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t n = test::device_count(sample);
  REQUIRE(n >= 2);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(i);
    CHECK(test::configure_driver(&hx711::configure, sample, "sample.toml", i).problems.empty());
  }
}

TEST_CASE("hx711 fake raw_file that is a FIFO never blocks collect(): the last value stays") {
  test::TempDir dir;
  const std::string fifo = dir.file("raw");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto d = test::make_driver(&hx711::configure,
                             "[[devices]]\nname = \"s\"\ndriver = \"hx711\"\ndout = 5\nsck = 6\nsamples = 1\nunit = \"g\"\n"
                             "fake = { raw = [1000], sps = 1000, raw_file = \"" + fifo + "\" }\n");
  d->open();
  test::RecordingSink got;
  auto collected = std::async(std::launch::async, [&] {
    // As the runner does, round after round for 300 ms: past settling, the model latches conversions from raw_file.
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < end) d->collect(got);
    return true;
  });
  const bool returned = collected.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  if (!returned) {  // blocked opening or reading the FIFO: a writer releases it, so the test fails instead of hanging
    const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
  }
  REQUIRE(returned);
  CHECK(collected.get());
}
