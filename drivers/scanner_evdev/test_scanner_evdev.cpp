// scanner-evdev as a driver: configuration with positions, and real FIFOs of input_event records.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/input.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "scanner_evdev.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"
#include "wedge_decoder.hpp"

using namespace tally;

TEST_CASE("scanner-evdev configuration problems are reported with positions") {
  const auto c = test::configure_driver(scanner_evdev::configure, R"([[devices]]
name = "s"
driver = "scanner-evdev"
path = "/dev/input/by-id/usb-scanner-event-kbd"
terminator = "space"
gs = "ctrl+x"
layout = "klingon"
event_size = 20
)");
  REQUIRE(c.problems.size() == 4);
  CHECK(c.problems[0].rfind("t.toml:5:", 0) == 0);
  CHECK(c.problems[1].rfind("t.toml:6:", 0) == 0);
  CHECK(c.problems[2].find("unknown keyboard layout \"klingon\"") != std::string::npos);
  CHECK(c.problems[3].rfind("t.toml:8:", 0) == 0);
}

TEST_CASE("grab on a FIFO is refused with a clear error, grab = false reads it") {
  test::TempDir dir;
  const std::string fifo = dir.path() + "/scanner";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto grabbing = test::make_driver(scanner_evdev::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-evdev\"\npath = \"" + fifo + "\"\n");
  try {
    grabbing->open();
    FAIL("grab on a FIFO must fail");
  } catch (const device_error& e) {
    CHECK(std::string(e.what()).find("grab = false") != std::string::npos);
  }

  auto driver = test::make_driver(scanner_evdev::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-evdev\"\npath = \"" +
                                                                fifo + "\"\ngrab = false\n");
  driver->open();
  const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  auto put = [&](std::uint16_t type, std::uint16_t code, std::int32_t value) {
    struct input_event e {};
    e.type = type, e.code = code, e.value = value;
    REQUIRE(::write(w, &e, sizeof e) == static_cast<ssize_t>(sizeof e));
  };
  for (std::uint16_t k : {2, 3, 4}) put(EV_KEY, k, 1), put(EV_SYN, 0, 0), put(EV_KEY, k, 0), put(EV_SYN, 0, 0);
  test::RecordingSink sink;
  driver->collect(sink);
  CHECK(sink.scans.empty());
  REQUIRE(sink.wakeups.size() == 1);  // the inter-key timeout is armed while a code is pending
  put(EV_KEY, KEY_ENTER, 1), put(EV_KEY, KEY_ENTER, 0);
  ::close(w);  // the writer leaves: no end-of-file for the driver (it holds the FIFO read-write)
  driver->collect(sink);
  REQUIRE(sink.scans.size() == 1);
  CHECK(sink.scans[0].code == "123");
  driver->collect(sink);  // nothing more, no error
  CHECK(sink.scans.size() == 1);
  driver->close();
}

TEST_CASE("a path that is neither a device nor a FIFO, and a missing one, are device errors") {
  test::TempDir dir;
  const std::string file = dir.path() + "/plain";
  ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0600));
  auto plain = test::make_driver(scanner_evdev::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-evdev\"\ngrab = false\npath = \"" + file + "\"\n");
  CHECK_THROWS_AS(plain->open(), device_error);
  auto missing = test::make_driver(scanner_evdev::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-evdev\"\npath = \"" + dir.path() + "/gone\"\n");
  try {
    missing->open();
    FAIL("open must fail");
  } catch (const device_error& e) {
    CHECK(e.errnum() == ENOENT);
  }
}

TEST_CASE("scanner-evdev sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/scanner_evdev/sample.toml");
  REQUIRE(in);
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto c = test::configure_driver(&scanner_evdev::configure, sample, "sample.toml");
  CHECK(c.problems.empty());
  CHECK(c.make);
}

namespace {
// A record as the kernel writes it: with the time it happened (tv_usec 0..999999).
std::string record(std::uint16_t type, std::uint16_t code, std::int32_t value) {
  struct input_event e {};
  ::gettimeofday(&e.time, nullptr);
  e.type = type, e.code = code, e.value = value;
  return std::string(reinterpret_cast<const char*>(&e), sizeof e);
}
std::string keys(std::initializer_list<std::uint16_t> codes) {
  std::string out;
  for (auto k : codes) out += record(EV_KEY, k, 1) + record(EV_SYN, 0, 0) + record(EV_KEY, k, 0) + record(EV_SYN, 0, 0);
  return out;
}
}  // namespace

TEST_CASE("a truncated input_event on a FIFO: the reader resynchronises and counts the drop") {
  test::TempDir dir;
  const std::string fifo = dir.path() + "/scanner";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto driver = test::make_driver(scanner_evdev::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-evdev\"\npath = \"" +
                                                                fifo + "\"\ngrab = false\n");
  driver->open();
  const int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  REQUIRE(w >= 0);
  auto write_all = [&](const std::string& bytes) {
    REQUIRE(::write(w, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  };
  test::RecordingSink sink;
  const std::string enter = record(EV_KEY, KEY_ENTER, 1) + record(EV_KEY, KEY_ENTER, 0);

  SECTION("part of a record, then nothing: discarded after a pause, the next code reads in step") {
    write_all(record(EV_KEY, KEY_1, 1).substr(0, 10));
    driver->collect(sink);
    REQUIRE_FALSE(sink.wakeups.empty());  // the driver asks to come back to look at the partial record
    REQUIRE(test::wait_until([&] {
      driver->collect(sink);
      return !sink.drops.empty();
    }, std::chrono::seconds(3)));
    CHECK(sink.drops[0] == "truncated input_event (10 bytes) discarded");
  }
  SECTION("part of a record followed at once by whole ones: out of step is seen, and the stream resynchronised") {
    write_all(record(EV_KEY, KEY_1, 1).substr(0, 10) + keys({KEY_1, KEY_2}) + enter);
    driver->collect(sink);
    REQUIRE_FALSE(sink.drops.empty());
    CHECK(sink.drops[0] == "input_event stream out of step (a truncated record): resynchronised");
    CHECK(sink.scans.empty());  // what came with the broken record is not trusted: never a wrong code
  }
  // Either way the next scan reads exactly (before: out of step for good, no code ever again).
  write_all(keys({KEY_4, KEY_5, KEY_6}) + enter);
  REQUIRE(test::wait_until([&] {
    driver->collect(sink);
    return !sink.scans.empty();
  }, std::chrono::seconds(3)));
  REQUIRE(sink.scans.size() == 1);
  CHECK(sink.scans[0].code == "456");
  ::close(w);
  driver->close();
}
