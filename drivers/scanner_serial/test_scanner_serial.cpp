// scanner-serial: lines -> scans (pure), then a real pseudo-terminal standing in for /dev/ttyACM0.
#include <catch2/catch.hpp>
#include <poll.h>

#include <fstream>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "scanner_serial/scanner_serial.hpp"
#include "support/pty.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;

TEST_CASE("a line is a code, the AIM identifier is kept apart, GS stays, control bytes are noise") {
  auto l = scanner_serial::parse_line("]C1011231231231233310ABC123\x1D" "99TESTING");  // shared/reference/devices.md
  CHECK(l.symbology == "]C1");
  CHECK(l.code == "011231231231233310ABC123\x1D" "99TESTING");
  l = scanner_serial::parse_line("SN-0042");
  CHECK(l.symbology.empty());
  CHECK(l.code == "SN-0042");
  CHECK(scanner_serial::parse_line("\x01\x02garbage").noise);
  CHECK(scanner_serial::parse_line("]E0").noise);  // an identifier and no data
}

TEST_CASE("scanner-serial on a pty: CR, LF and CR LF terminated codes, split across writes") {
  test::TempDir dir;
  test::Pty pty(dir.file("ttyACM-scanner"));
  auto driver = test::make_driver(scanner_serial::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-serial\"\nport = \"" +
                                                                 pty.link() + "\"\nbaud = 115200\n");
  driver->open();
  test::RecordingSink sink;
  pty.write("]E04006381333931\r");
  pty.write("SN-1\nSN-");
  pty.write("2\r\n\x07\x08\r\n");
  REQUIRE(test::wait_until([&] {
    pollfd p{driver->fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) driver->collect(sink);
    return sink.scans.size() >= 3 && !sink.drops.empty();
  }));
  CHECK(sink.scans[0].symbology == "]E0");
  CHECK(sink.scans[0].code == "4006381333931");
  CHECK(sink.scans[1].code == "SN-1");
  CHECK(sink.scans[2].code == "SN-2");
  CHECK(sink.drops == std::vector<std::string>{"noise"});
  pty.unplug();
  auto drain_until_gone = [&] {
    for (int i = 0; i < 100; ++i) {
      pollfd p{driver->fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
      driver->collect(sink);
    }
  };
  CHECK_THROWS_AS(drain_until_gone(), device_error);  // unplugged: the runner reopens the same path
}

TEST_CASE("scanner-serial sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/scanner_serial/sample.toml");
  REQUIRE(in);
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto c = test::configure_driver(&scanner_serial::configure, sample, "sample.toml");
  CHECK(c.problems.empty());
  CHECK(c.make);
}
