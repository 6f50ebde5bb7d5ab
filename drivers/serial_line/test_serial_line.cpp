// The serial-line driver against a real pseudo-terminal: the kernel's tty layer, not a mock.
#include <catch2/catch.hpp>

#include <poll.h>
#include <termios.h>
#include <fcntl.h>
#include <unistd.h>
#include <re2/re2.h>

#include <chrono>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "serial/serial_port.hpp"
#include "serial_line/serial_line.hpp"
#include "support/pty.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;

namespace {

using Collected = test::RecordingSink;

std::unique_ptr<Driver> make_driver(const std::string& port, const std::string& extra = "") {
  return test::make_driver(&serial_line::configure,
                           "[station]\nid = \"s\"\n[[devices]]\nname = \"t\"\ndriver = \"serial-line\"\nport = \"" +
                               port + "\"\nquantity = \"temperature\"\nunit = \"degC\"\n" + extra);
}

// Collects until `n` readings arrived or the deadline passed (polls the driver's fd like the event loop does).
void collect_until(Driver& d, Collected& out, std::size_t n) {
  test::wait_until([&] {
    pollfd p{d.fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) d.collect(out);
    return out.readings.size() >= n;
  }, std::chrono::seconds(5));
}

}  // namespace

TEST_CASE("serial-line reads values from a pseudo-terminal, skipping noise") {
  test::TempDir dir;
  test::Pty pty(dir.file("ttyUSB-test"));
  auto driver = make_driver(pty.link());
  driver->open();
  REQUIRE(driver->fd() >= 0);

  Collected got;
  pty.write("T=21.5 C\r\nT=2");
  pty.write("1.75 C\r\n\x01\xff\xfe garbage\r\nno value\r\nT=-3 C\n");
  collect_until(*driver, got, 3);
  REQUIRE(got.readings.size() == 3);
  CHECK(got.readings[0].value == 21.5);
  CHECK(got.readings[1].value == 21.75);
  CHECK(got.readings[2].value == -3.0);
  CHECK(got.readings[0].quantity == "temperature");
  CHECK(got.readings[0].unit == "degC");
  CHECK(got.drops == std::vector<std::string>{"noise", "no value in line"});
  driver->close();
}

TEST_CASE("framing keys become the termios the UART is given") {
  const auto cflag = [](const char* framing) {
    return make_termios(SerialSettings{"/dev/x", 9600, framing}, termios{}).c_cflag;
  };
  CHECK((cflag("7E1") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == (CS7 | PARENB));
  CHECK((cflag("7O1") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == (CS7 | PARENB | PARODD));
  CHECK((cflag("8N1") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == CS8);
  CHECK((cflag("8E2") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == (CS8 | PARENB | CSTOPB));
  CHECK((cflag("7M1") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == (CS7 | PARENB | PARODD | CMSPAR));
  CHECK((cflag("7S1") & (CSIZE | PARENB | PARODD | CSTOPB | CMSPAR)) == (CS7 | PARENB | CMSPAR));
  CHECK((cflag("8N1") & CLOCAL) != 0);  // no carrier detect on a 3-wire RS-232 link
  CHECK((make_termios(SerialSettings{"/dev/x", 9600, "7E1"}, termios{}).c_iflag & INPCK) != 0);
}

TEST_CASE("serial-line opens the port raw at the configured baud") {
  // A pseudo-terminal keeps the baud rate and the raw flags, but forces 8N1 (see the framing test above).
  test::TempDir dir;
  test::Pty pty(dir.file("ttyS-test"));
  auto driver = make_driver(pty.link(), "baud = 4800\nframing = \"7E1\"\n");
  driver->open();
  termios tio{};
  REQUIRE(tcgetattr(driver->fd(), &tio) == 0);
  CHECK(cfgetispeed(&tio) == B4800);
  CHECK(cfgetospeed(&tio) == B4800);
  CHECK((tio.c_lflag & (ICANON | ECHO | ISIG)) == 0);  // raw: no line editing, nothing echoed back to the device
  CHECK((tio.c_oflag & OPOST) == 0);
  driver->close();
}

TEST_CASE("serial-line reports an unplugged port as a device error, and a missing one on open") {
  test::TempDir dir;
  test::Pty pty(dir.file("ttyACM-test"));
  auto driver = make_driver(pty.link());
  driver->open();
  pty.unplug();
  Collected got;
  bool gone = false;
  test::wait_until([&] {
    try {
      pollfd p{driver->fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) driver->collect(got);
    } catch (const device_error& e) {
      gone = true;
    }
    return gone;
  }, std::chrono::seconds(5));
  CHECK(gone);
  driver->close();

  try {
    driver->open();
    FAIL("open of a vanished port must fail");
  } catch (const device_error& e) {
    CHECK(e.errnum() == ENOENT);
  }
  pty.plug();
  driver->open();  // back at the same path
  pty.write("7\n");
  collect_until(*driver, got, 1);
  REQUIRE(got.readings.size() == 1);
  CHECK(got.readings[0].value == 7.0);
}

namespace {
std::vector<std::string> pattern_problems(const std::string& pattern) {
  return test::configure_driver(&serial_line::configure,
                                "[station]\nid = \"s\"\n[[devices]]\nname = \"t\"\ndriver = \"serial-line\"\n"
                                "port = \"/dev/x\"\npattern = '" + pattern + "'\n")
      .problems;
}
}  // namespace

TEST_CASE("serial-line patterns are RE2: group 1 is the value, as before") {
  using serial_line::parse_value;
  const re2::RE2 humidity("H=([0-9.]+)");
  CHECK(parse_value("T=21.5 H=40.2", &humidity) == 40.2);
  CHECK(parse_value("T=21.5", &humidity) == std::nullopt);
  const re2::RE2 bad_number("T=([0-9.]+)");
  CHECK(parse_value("T=1.2.3", &bad_number) == std::nullopt);  // group 1 must be a number, all of it
  const re2::RE2 optional_group("T=(?:([-0-9.]+)|--)");
  CHECK(parse_value("T=--", &optional_group) == std::nullopt);  // group 1 took no part: no value
  CHECK(parse_value("T=-3", &optional_group) == -3.0);
  CHECK(pattern_problems("T=([-0-9.]+)").empty());
  CHECK(pattern_problems("T=(?P<value>[-0-9.]+)").empty());
}

TEST_CASE("serial-line: a pattern that backtracks exponentially in std::regex matches a noisy line at once") {
  // std::regex needs ~2^n steps for this pattern on a line of n digit groups that fails at its end; a serial device
  // printing garbage would hold the event loop. RE2 is linear in the line.
  const re2::RE2 nasty("^(([0-9]+\\.?)+)$");
  REQUIRE(nasty.ok());
  const std::string line = std::string(30, '1') + "!";
  const auto start = std::chrono::steady_clock::now();
  const auto value = serial_line::parse_value(line, &nasty);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
  CHECK(value == std::nullopt);
  CHECK(serial_line::parse_value("12.5", &nasty) == 12.5);
  CHECK(pattern_problems("^(([0-9]+\\.?)+)$").empty());
}

TEST_CASE("serial-line: what RE2 does not support is a config error with a position and the reason") {
  auto p = pattern_problems("T=([0-9]+)\\1");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[0] pattern: invalid regular expression: invalid escape sequence: \\1 "
                "(backreferences are not supported: patterns are RE2 syntax, which matches in linear time)");
  p = pattern_problems("(?<=T=)([0-9]+)");
  REQUIRE(p.size() == 1);
  CHECK(p[0].find("lookbehind is not supported") != std::string::npos);
  p = pattern_problems("T=([0-9]+");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[0] pattern: invalid regular expression: missing ): T=([0-9]+");
  p = pattern_problems("T=[0-9]+");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[0] pattern: needs a capture group: group 1 is the number");
}
