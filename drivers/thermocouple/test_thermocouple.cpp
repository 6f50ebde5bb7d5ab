// The max31855/max6675 drivers through their configuration, on the fake SPI bus (`fake = {...}`).
#include <catch2/catch.hpp>

#include <fstream>

#include "driver_testing.hpp"
#include "thermocouple/thermocouple.hpp"

using namespace tally;

namespace {
std::string device(const std::string& driver, const std::string& keys) {
  return "[[devices]]\nname = \"kettle\"\ndriver = \"" + driver + "\"\n" + keys;
}
}  // namespace

TEST_CASE("max31855 publishes the temperature, a fault as a reading without value, and drops bad frames") {
  auto d = test::make_driver(&thermocouple::configure_max31855,
                             device("max31855", "spi = \"/dev/spidev0.0\"\npoll_ms = 250\n"
                                                "fake = { frames = [\"01 90 19 00\", \"FF F0 19 00\", \"00 01 19 01\","
                                                " \"FF FF FF FF\", \"F0 60 00 00\"] }\n"));
  CHECK(d->poll_interval() == std::chrono::milliseconds(250));
  d->open();
  test::RecordingSink got;
  for (int i = 0; i < 5; ++i) d->collect(got);
  REQUIRE(got.readings.size() == 4);
  CHECK(got.readings[0].value == 25.0);
  CHECK(got.readings[0].quantity == "temperature");
  CHECK(got.readings[0].unit == "degC");
  CHECK(got.readings[1].value == -1.0);
  CHECK(got.readings[2].fault == "open-circuit");
  CHECK_FALSE(got.readings[2].value);
  CHECK(got.readings[3].value == -250.0);
  CHECK(got.drops == std::vector<std::string>{"all ones (no MAX31855 answering?)"});
}

TEST_CASE("max31855 channel = cold-junction reports the chip's own temperature, also during a fault") {
  auto d = test::make_driver(&thermocouple::configure_max31855,
                             device("max31855", "channel = \"cold-junction\"\n"
                                                "fake = { frames = [\"01 90 C9 00\", \"00 01 19 01\"] }\n"));
  d->open();
  test::RecordingSink got;
  d->collect(got);
  d->collect(got);
  REQUIRE(got.readings.size() == 2);
  CHECK(got.readings[0].value == -55.0);
  CHECK(got.readings[1].value == 25.0);
}

TEST_CASE("max6675 publishes temperatures and the open-input bit") {
  auto d = test::make_driver(&thermocouple::configure_max6675,
                             device("max6675", "fake = { frames = [\"0C 88\", \"00 04\", \"FF FF\"] }\n"));
  d->open();
  test::RecordingSink got;
  for (int i = 0; i < 3; ++i) d->collect(got);
  REQUIRE(got.readings.size() == 2);
  CHECK(got.readings[0].value == 100.25);
  CHECK(got.readings[1].fault == "open-circuit");
  CHECK(got.drops.size() == 1);
}

TEST_CASE("the fake sine bus gives temperatures around `celsius` and an open input every open_every-th read") {
  auto d = test::make_driver(&thermocouple::configure_max31855,
                             device("max31855", "fake = { celsius = 60.0, swing = 2.0, open_every = 3 }\n"));
  d->open();
  test::RecordingSink got;
  for (int i = 0; i < 6; ++i) d->collect(got);
  REQUIRE(got.readings.size() == 6);
  CHECK(got.readings[2].fault == "open-circuit");
  CHECK(got.readings[5].fault == "open-circuit");
  CHECK(*got.readings[0].value == Approx(60.0).margin(2.25));
}

TEST_CASE("thermocouple configuration limits come from the datasheets") {
  auto c = test::configure_driver(&thermocouple::configure_max31855,
                                  device("max31855", "speed_hz = 8000000\npoll_ms = 50\nchannel = \"x\"\n"));
  CHECK(c.problems.size() == 3);
  c = test::configure_driver(&thermocouple::configure_max6675, device("max6675", "poll_ms = 150\n"));
  CHECK(c.problems.size() == 1);
  c = test::configure_driver(&thermocouple::configure_max6675, device("max6675", "channel = \"cold-junction\"\n"));
  CHECK(c.problems.size() == 1);  // the MAX6675 has no cold-junction output
  c = test::configure_driver(&thermocouple::configure_max31855, device("max31855", "fake = { frames = [\"01 90\"] }\n"));
  REQUIRE(c.problems.size() == 1);
  CHECK(c.problems[0].find("4 bytes") != std::string::npos);
}

TEST_CASE("a missing spidev is a device error carrying errno") {
  auto d = test::make_driver(&thermocouple::configure_max31855, device("max31855", "spi = \"/nonexistent/spidev9.9\"\n"));
  try {
    d->open();
    FAIL("open() should throw");
  } catch (const std::system_error& e) {
    CHECK(e.code().value() == ENOENT);
  }
}

TEST_CASE("thermocouple sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/thermocouple/sample.toml");
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t n = test::device_count(sample);
  REQUIRE(n == 4);
  for (std::size_t i = 0; i < n; ++i) {
    const bool m6675 = i == 2;
    const auto c = test::configure_driver(m6675 ? &thermocouple::configure_max6675 : &thermocouple::configure_max31855,
                                          sample, "sample.toml", i);
    INFO(i);
    CHECK(c.problems.empty());
  }
}
