// The iio driver against directory trees shaped like /sys/bus/iio/devices (Documentation/ABI/testing/
// sysfs-bus-iio): the attributes the kernel's maxim_thermocouple and hx711 drivers create, with the values they
// would hold.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include <sys/stat.h>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "iio/iio.hpp"
#include "support/temp_dir.hpp"

using namespace tally;

namespace {

struct Sysfs {
  test::TempDir dir;
  std::string device(const std::string& n, const std::string& name) {
    const std::string path = dir.file("iio:device" + n);
    ::mkdir(path.c_str(), 0755);
    attr(path, "name", name);
    return path;
  }
  void attr(const std::string& device, const std::string& file, const std::string& value) {
    dir.write(device.substr(dir.path().size() + 1) + "/" + file, value + "\n");
  }
};

std::unique_ptr<Driver> driver(const std::string& keys) {
  return test::make_driver(&iio::configure, "[[devices]]\nname = \"t\"\ndriver = \"iio\"\n" + keys);
}

}  // namespace

TEST_CASE("IIO channel types: units after scale, converted") {
  CHECK(iio::shared_prefix("in_voltage0") == "in_voltage");
  CHECK(iio::shared_prefix("in_temp") == "in_temp");
  CHECK(iio::shared_prefix("in_temp_ambient") == "in_temp");
  CHECK(iio::shared_prefix("in_humidityrelative") == "in_humidityrelative");
  CHECK(iio::unit_of("in_temp").unit == "degC");
  CHECK(iio::unit_of("in_temp").factor == 0.001);
  CHECK(iio::unit_of("in_voltage3").unit == "V");
  CHECK(iio::unit_of("in_humidityrelative").quantity == "humidity");
  CHECK(iio::unit_of("in_pressure").unit == "kPa");
}

TEST_CASE("maxim_thermocouple through IIO: in_temp_raw * in_temp_scale in millidegrees, published in degC") {
  Sysfs sys;
  const auto dev = sys.device("0", "max31855");
  sys.attr(dev, "in_temp_raw", "100");     // 14-bit signed, 0.25 degC/LSB
  sys.attr(dev, "in_temp_scale", "250");   // millidegrees per LSB
  sys.attr(dev, "in_temp_ambient_raw", "400");
  sys.attr(dev, "in_temp_ambient_scale", "62.5");
  auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
  d->open();
  test::RecordingSink got;
  d->collect(got);
  sys.attr(dev, "in_temp_raw", "-4");
  d->collect(got);
  REQUIRE(got.readings.size() == 2);
  CHECK(got.readings[0].value == 25.0);
  CHECK(got.readings[0].quantity == "temperature");
  CHECK(got.readings[0].unit == "degC");
  CHECK(got.readings[1].value == -1.0);

  // find by name under the fixture tree
  iio::Settings s;
  s.iio_name = "max31855";
  s.devices_dir = sys.dir.path();
  s.channel = "in_temp_ambient";
  auto by_name = iio::make(s);
  by_name->open();
  by_name->collect(got);
  REQUIRE(got.readings.size() == 3);
  CHECK(got.readings[2].value == 25.0);  // per-channel scale wins over the shared one
}

TEST_CASE("(raw + offset) * scale with a shared scale and an offset") {
  Sysfs sys;
  const auto dev = sys.device("2", "ads1015");
  sys.attr(dev, "in_voltage3_raw", "1000");
  sys.attr(dev, "in_voltage_scale", "0.5");   // shared by every voltage channel: mV per LSB
  sys.attr(dev, "in_voltage_offset", "-500");
  auto d = driver("path = \"" + dev + "\"\nchannel = \"in_voltage3\"\n");
  d->open();
  test::RecordingSink got;
  d->collect(got);
  REQUIRE(got.readings.size() == 1);
  CHECK(got.readings[0].value == Approx(0.25));  // (1000 - 500) * 0.5 mV = 250 mV
  CHECK(got.readings[0].unit == "V");
}

TEST_CASE("the kernel's hx711 (unsigned in_voltage0_raw) with a calibration in raw counts, and its raw command") {
  Sysfs sys;
  const auto dev = sys.device("1", "hx711");
  sys.attr(dev, "in_voltage0_raw", "8388708");  // 0x800064: the kernel xors 0x800000, so +100 counts
  sys.attr(dev, "in_voltage0_scale", "0.000154");
  auto d = driver("path = \"" + dev + "\"\nchannel = \"in_voltage0\"\noffset = 8388608\nscale = 2\nunit = \"g\"\n");
  d->open();
  std::string raw;
  REQUIRE(d->start_command("raw", [&](bool ok, std::string detail) { raw = ok ? detail : "failed"; }));
  test::RecordingSink got;
  d->collect(got);
  REQUIRE(got.readings.size() == 1);
  CHECK(got.readings[0].value == 50.0);
  CHECK(got.readings[0].unit == "g");
  CHECK(got.readings[0].quantity == "mass");
  CHECK(raw == "8388708");
}

TEST_CASE("missing or unreadable attributes are device errors, garbage is a drop") {
  Sysfs sys;
  const auto dev = sys.device("0", "max31855");
  SECTION("no such channel") {
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
    try {
      d->open();
      FAIL("open() should throw");
    } catch (const device_error& e) {
      CHECK(e.errnum() == ENOENT);
    }
  }
  SECTION("no such device name") {
    iio::Settings s;
    s.iio_name = "bme280";
    s.devices_dir = sys.dir.path();
    CHECK_THROWS_AS(iio::make(s)->open(), device_error);
  }
  SECTION("raw unreadable (a directory: read() fails with EISDIR)") {
    ::mkdir((dev + "/in_temp_raw").c_str(), 0755);
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
    d->open();
    test::RecordingSink got;
    try {
      d->collect(got);
      FAIL("collect() should throw");
    } catch (const device_error& e) {
      CHECK(e.errnum() == EISDIR);
    }
  }
  SECTION("scale unreadable") {
    sys.attr(dev, "in_temp_raw", "100");
    ::mkdir((dev + "/in_temp_scale").c_str(), 0755);
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
    d->open();
    test::RecordingSink got;
    CHECK_THROWS_AS(d->collect(got), device_error);
  }
  SECTION("the device removed after open (unplugged USB ADC, unloaded module)") {
    sys.attr(dev, "in_temp_raw", "100");
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
    d->open();
    ::unlink((dev + "/in_temp_raw").c_str());
    test::RecordingSink got;
    CHECK_THROWS_AS(d->collect(got), device_error);
  }
  SECTION("not a number") {
    sys.attr(dev, "in_temp_raw", "abc");
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_temp\"\n");
    d->open();
    test::RecordingSink got;
    d->collect(got);
    CHECK(got.readings.empty());
    CHECK(got.drops.size() == 1);
  }
}

TEST_CASE("iio configuration") {
  const std::string head = "[[devices]]\nname = \"t\"\ndriver = \"iio\"\n";
  CHECK(test::configure_driver(&iio::configure, head + "iio_name = \"hx711\"\n").problems.empty());
  CHECK(test::configure_driver(&iio::configure, head + "channel = \"in_temp\"\n").problems.size() == 1);
  CHECK(test::configure_driver(&iio::configure, head + "path = \"/x\"\niio_name = \"y\"\n").problems.size() == 1);
  CHECK(test::configure_driver(&iio::configure, head + "path = \"/x\"\nchannel = \"../etc\"\n").problems.size() == 1);
  CHECK(test::configure_driver(&iio::configure, head + "path = \"/x\"\noffset = 5\n").problems.size() == 1);
}

TEST_CASE("iio sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/iio/sample.toml");
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t n = test::device_count(sample);
  REQUIRE(n >= 2);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(i);
    CHECK(test::configure_driver(&iio::configure, sample, "sample.toml", i).problems.empty());
  }
}

TEST_CASE("values no IIO attribute can hold, overflows and over-long text are readings with a fault, never a value") {
  Sysfs sys;
  const auto dev = sys.device("0", "ads1015");
  auto one = [&](const std::string& keys = "") {
    auto d = driver("path = \"" + dev + "\"\nchannel = \"in_voltage0\"\n" + keys);
    d->open();
    test::RecordingSink got;
    d->collect(got);
    REQUIRE(got.readings.size() == 1);
    return got.readings[0];
  };
  SECTION("5e304 mV: beyond the 64-bit integers the kernel formats") {
    sys.attr(dev, "in_voltage0_raw", "5e304");
    const Reading r = one();
    CHECK_FALSE(r.value);
    CHECK(r.fault == "out-of-range");
  }
  SECTION("a number that overflows a double") {
    sys.attr(dev, "in_voltage0_raw", "1e999");
    CHECK(one().fault == "out-of-range");
  }
  SECTION("a 300-digit number (before: its first 127 characters were read as 1e126)") {
    sys.attr(dev, "in_voltage0_raw", std::string(300, '9'));
    const Reading r = one();
    CHECK_FALSE(r.value);
    CHECK(r.fault == "out-of-range");
  }
  SECTION("more text than a sysfs page") {
    sys.attr(dev, "in_voltage0_raw", "12" + std::string(5000, ' '));
    const Reading r = one();
    CHECK_FALSE(r.value);
    CHECK(r.fault == "attribute-too-long");
  }
  SECTION("a scale attribute beyond range") {
    sys.attr(dev, "in_voltage0_raw", "100");
    sys.attr(dev, "in_voltage0_scale", "1e300");
    CHECK(one().fault == "out-of-range");
  }
  SECTION("a calibration that divides into infinity (before: \"value\": null and no fault)") {
    sys.attr(dev, "in_voltage0_raw", "9000000000000000000");
    const Reading r = one("scale = 1e-300\nunit = \"g\"\n");
    CHECK_FALSE(r.value);
    CHECK(r.fault == "out-of-range");
  }
  SECTION("an ordinary value still reads") {
    sys.attr(dev, "in_voltage0_raw", "1500");
    sys.attr(dev, "in_voltage0_scale", "1.000000000");
    const Reading r = one();
    REQUIRE(r.value);
    CHECK(*r.value == Approx(1.5));
    CHECK(r.fault.empty());
  }
}

TEST_CASE("an IIO _raw that is a FIFO never blocks: collect() returns at once with a device error") {
  Sysfs sys;
  const auto dev = sys.device("0", "ads1015");
  const std::string raw = dev + "/in_voltage0_raw";
  REQUIRE(::mkfifo(raw.c_str(), 0600) == 0);
  auto d = driver("path = \"" + dev + "\"\nchannel = \"in_voltage0\"\n");
  d->open();
  test::RecordingSink got;
  auto collected = std::async(std::launch::async, [&] {
    try {
      d->collect(got);
    } catch (const device_error& e) {
      return e.errnum();
    }
    return 0;
  });
  const bool returned = collected.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  if (!returned) {  // blocked in open() or read(): a writer lets it go, so the test can fail instead of hang
    const int w = ::open(raw.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
  }
  REQUIRE(returned);
  CHECK(collected.get() == ENOTSUP);
  CHECK(got.readings.empty());
}
