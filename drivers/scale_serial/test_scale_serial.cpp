// The scale-serial driver against a real pseudo-terminal: the test plays the scale on the master side (reading the
// driver's requests, writing the scale's bytes), and calls collect() the way the runner does (on input and on its
// poll timer).
#include <catch2/catch.hpp>

#include <poll.h>
#include <termios.h>

#include <fstream>
#include <iterator>
#include <optional>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "scale_serial/scale_serial.hpp"
#include "serial/serial_port.hpp"
#include "support/pty.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;
using namespace std::chrono_literals;

namespace {

using Collected = test::RecordingSink;

struct Outcome {
  bool ok = false;
  std::string detail;
};

std::unique_ptr<Driver> scale_driver(const std::string& port, const std::string& keys) {
  return test::make_driver(&scale_serial::configure, "[station]\nid = \"s\"\n[[devices]]\nname = \"scale\"\ndriver = \"scale-serial\"\nport = \"" +
                          port + "\"\n" + keys);
}

// A scale on a pty, its driver, and what the driver produced.
struct Bench {
  test::TempDir dir;
  test::Pty pty{dir.file("ttyUSB-scale")};
  std::unique_ptr<Driver> driver;
  Collected got;
  std::optional<Outcome> outcome;

  explicit Bench(const std::string& keys) { driver = scale_driver(pty.link(), keys); }

  // One round of the runner: wait up to 10 ms for input, then collect (input or timer, the driver cannot tell).
  void step() {
    pollfd p{driver->fd(), POLLIN, 0};
    ::poll(&p, 1, 10);
    driver->collect(got);
  }
  template <class Pred>
  bool run_until(Pred&& ready, std::chrono::milliseconds deadline = 3s) {
    return test::wait_until([&] {
      step();
      return ready();
    }, deadline);
  }
  void run_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) step();
  }
  // What the driver sent, waiting until it ends with `expected` (requests are short and end in CR LF).
  std::string expect_sent(const std::string& expected, std::chrono::milliseconds deadline = 3s) {
    std::string sent;
    test::wait_until([&] {
      step();
      sent += pty.read(5ms, 1);
      return sent.size() >= expected.size() && sent.compare(sent.size() - expected.size(), expected.size(), expected) == 0;
    }, deadline);
    return sent;
  }
  bool command(std::string_view name) {
    return driver->start_command(name, [this](bool ok, std::string detail) {
      REQUIRE_FALSE(outcome);  // done exactly once
      outcome = Outcome{ok, std::move(detail)};
    });
  }
  std::size_t count() const { return got.readings.size(); }
};

// Runs until collect() throws device_error; returns it.
std::optional<device_error> until_error(Bench& b, std::chrono::milliseconds deadline) {
  std::optional<device_error> err;
  test::wait_until([&] {
    try {
      b.step();
    } catch (const device_error& e) {
      err = e;
    }
    return err.has_value();
  }, deadline);
  return err;
}

}  // namespace

TEST_CASE("scale-serial MT-SICS: polls SI, reads stable and dynamic weights, converts the unit") {
  Bench b("protocol = \"mt-sics\"\npoll_ms = 100\nunit = \"kg\"\n");
  b.driver->open();
  CHECK(b.driver->confirms_online());
  CHECK(b.driver->poll_interval() == 100ms);
  CHECK(b.pty.read(1s, 4) == "SI\r\n");  // asked at once on open
  b.pty.write("S S     123.45 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  const Reading& r = b.got.readings[0];
  CHECK(r.quantity == "mass");
  CHECK(r.value == 0.12345);
  CHECK(r.unit == "kg");
  CHECK(r.stable == true);
  CHECK(r.fault.empty());

  // The next poll comes about poll_ms later; a dynamic weight, split across two writes.
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("S D      1");
  b.pty.write("0.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 2; }));
  CHECK(b.got.readings[1].value == 0.01);
  CHECK(b.got.readings[1].stable == false);

  // Overload and underload are readings with a fault and no value.
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("S +\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 3; }));
  CHECK(b.got.readings[2].fault == "overload");
  CHECK_FALSE(b.got.readings[2].value);
  CHECK(b.got.readings[2].stable == false);
  CHECK(b.got.drops.empty());
}

TEST_CASE("scale-serial MT-SICS: tare and zero through start_command, accepted and refused") {
  Bench b("protocol = \"mt-sics\"\npoll_ms = 100\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 4) == "SI\r\n");

  // One request at a time: the tare waits until the poll on the line is answered.
  REQUIRE(b.command("tare"));
  b.run_for(50ms);
  CHECK(b.pty.read(20ms, 1).empty());
  b.pty.write("S S     250.00 g\r\n");
  CHECK(b.expect_sent("T\r\n") == "T\r\n");
  // No polls while the tare is answered (T waits for a stable weight on a real balance).
  b.run_for(250ms);
  CHECK(b.pty.read(20ms, 1).empty());
  b.pty.write("T S     250.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK(b.outcome->ok);
  CHECK(b.outcome->detail == "tare 250.00 g");

  // Polling resumes.
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("S S       0.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 2; }));

  b.outcome.reset();
  REQUIRE(b.command("zero"));
  CHECK(b.expect_sent("Z\r\n") == "Z\r\n");
  b.pty.write("Z +\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK_FALSE(b.outcome->ok);
  CHECK(b.outcome->detail == "scale refused zero: overload (Z +)");

  b.outcome.reset();
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("S S       0.00 g\r\n");
  REQUIRE(b.command("zero"));
  CHECK(b.expect_sent("Z\r\n") == "Z\r\n");
  b.pty.write("Z A\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK(b.outcome->ok);
  CHECK(b.outcome->detail == "zeroed");

  b.outcome.reset();
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("S S       0.00 g\r\n");
  REQUIRE(b.command("tare"));
  CHECK(b.expect_sent("T\r\n") == "T\r\n");
  b.pty.write("EL\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK_FALSE(b.outcome->ok);
  CHECK(b.outcome->detail == "scale refused tare: logical error (EL)");

  CHECK_FALSE(b.command("calibrate"));  // not a command of this driver: false, done not called
  CHECK_FALSE(b.outcome->ok);
}

TEST_CASE("scale-serial: a command the scale never answers is cancelled by the runner, polling goes on") {
  Bench b("protocol = \"mt-sics\"\npoll_ms = 100\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 4) == "SI\r\n");
  b.pty.write("S S       1.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  REQUIRE(b.command("tare"));
  CHECK(b.expect_sent("T\r\n") == "T\r\n");
  b.run_for(2500ms);  // longer than the silence timeout: a pending command is not silence
  b.driver->cancel_command();
  CHECK_FALSE(b.outcome);  // cancel does not call done: the runner answers the command itself
  CHECK(b.expect_sent("SI\r\n") == "SI\r\n");
  b.pty.write("T S       1.00 g\r\nS S       0.00 g\r\n");  // the late tare reply is ignored
  REQUIRE(b.run_until([&] { return b.count() == 2; }));
  CHECK_FALSE(b.outcome);
}

TEST_CASE("scale-serial: a scale that stops answering is a device error after the timeout") {
  Bench b("protocol = \"mt-sics\"\npoll_ms = 100\ntimeout_ms = 400\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 4) == "SI\r\n");
  b.pty.write("S S       1.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  const auto err = until_error(b, 3s);
  REQUIRE(err);
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 350ms);
  CHECK(waited < 1500ms);
  CHECK(err->errnum() == ETIMEDOUT);
  CHECK(std::string(err->what()).find("no answer from the scale") != std::string::npos);
  CHECK(std::string(err->what()).find("\"SI\" every 100 ms") != std::string::npos);
  // It did ask (the request after the last reply went unanswered).
  CHECK(b.pty.read(50ms, 1).find("SI\r\n") != std::string::npos);

  // Reopened, the first valid reply is what counts.
  b.driver->close();
  b.driver->open();
  CHECK(b.expect_sent("SI\r\n").find("SI\r\n") != std::string::npos);
  b.pty.write("S S       2.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 2; }));
}

TEST_CASE("scale-serial: noise at a wrong baud rate is dropped, and named in the timeout") {
  Bench b("protocol = \"and\"\npoll_ms = 100\ntimeout_ms = 400\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 3) == "Q\r\n");
  b.pty.write("ST,+00001.00  g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  std::optional<device_error> err;
  test::wait_until([&] {
    try {
      b.pty.write("\xf0\x8c\x80\xfe\r\n");
      b.step();
    } catch (const device_error& e) {
      err = e;
    }
    return err.has_value();
  }, 3s);
  REQUIRE(err);
  CHECK(err->errnum() == ETIMEDOUT);
  CHECK(std::string(err->what()).find("check baud and framing") != std::string::npos);
  CHECK_FALSE(b.got.drops.empty());
  CHECK(b.got.drops[0] == "noise");
}

TEST_CASE("scale-serial MT-SICS streaming: SIR on open, silence is a device error, SIR again after a tare") {
  Bench b("protocol = \"mt-sics\"\npoll_ms = 0\n");
  b.driver->open();
  CHECK(b.driver->poll_interval() > 0ms);  // still polled, to notice silence
  REQUIRE(b.pty.read(1s, 5) == "SIR\r\n");
  b.pty.write("S D      10.00 g\r\nS D      11.00 g\r\nS S      12.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 3; }));
  CHECK(b.got.readings[2].stable == true);

  REQUIRE(b.command("tare"));
  CHECK(b.pty.read(1s, 3) == "T\r\n");  // streaming: written at once
  b.pty.write("S S      12.00 g\r\nT S      12.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK(b.outcome->ok);
  CHECK(b.pty.read(1s, 5) == "SIR\r\n");
  CHECK(b.count() == 4);

  const auto err = until_error(b, 4s);  // the default 2 s
  REQUIRE(err);
  CHECK(err->errnum() == ETIMEDOUT);
  CHECK(std::string(err->what()).find("poll_ms = 0") != std::string::npos);
}

TEST_CASE("scale-serial A&D streaming: tare is done once frames follow it, EC errors refuse it") {
  Bench b("protocol = \"and\"\npoll_ms = 0\nunit = \"g\"\n");
  b.driver->open();
  CHECK(b.pty.read(100ms, 1).empty());  // A&D stream mode is the scale's own setting: nothing sent
  b.pty.write("ST,+00100.00  g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));

  REQUIRE(b.command("tare"));
  CHECK(b.pty.read(1s, 3) == "T\r\n");
  b.pty.write("ST,+00100.00  g\r\n");  // may have left the scale before the command arrived
  b.run_for(50ms);
  CHECK_FALSE(b.outcome);
  b.pty.write("US,+00000.00  g\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK(b.outcome->ok);
  CHECK(b.outcome->detail == "tare sent (A&D does not confirm it); the scale now reads 0.00 g, not stable");

  b.outcome.reset();
  REQUIRE(b.command("zero"));
  CHECK(b.pty.read(1s, 3) == "R\r\n");  // A&D RE-ZERO
  b.pty.write("EC,E11\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK_FALSE(b.outcome->ok);
  CHECK(b.outcome->detail == "scale refused zero: stability error: weight not stable (EC,E11)");

  // Overload from a stream.
  b.pty.write("OL,+999999.9  g\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 4; }));
  CHECK(b.got.readings[3].fault == "overload");
}

TEST_CASE("scale-serial Ohaus polled: P polls, tare is done once a poll sent after it is answered") {
  Bench b("protocol = \"ohaus\"\npoll_ms = 100\nunit = \"oz\"\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 3) == "P\r\n");
  b.pty.write("     100.00 g    ?\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  CHECK(b.got.readings[0].value == 3.5274);
  CHECK(b.got.readings[0].unit == "oz");
  CHECK(b.got.readings[0].stable == false);

  REQUIRE(b.command("tare"));
  CHECK(b.expect_sent("T\r\n").find("T\r\n") != std::string::npos);
  CHECK(b.expect_sent("P\r\n") == "P\r\n");
  b.pty.write("       0.00 g\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK(b.outcome->ok);
  CHECK(b.outcome->detail == "tare sent (Ohaus does not confirm it); the scale now reads 0.00000 oz, stable");
}

TEST_CASE("scale-serial Sartorius: ESC P polls, an unstable line without a unit takes the last unit") {
  Bench b("protocol = \"sartorius\"\npoll_ms = 100\nframing = \"7O1\"\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 4) == "\x1bP\r\n");
  b.pty.write("+   1255.7    \r\n");  // unstable, and no unit seen yet: cannot be published
  b.run_for(50ms);
  CHECK(b.count() == 0);
  REQUIRE(b.got.drops.size() == 1);
  CHECK(b.got.drops[0] == "weight without a unit (none seen yet)");
  CHECK(b.expect_sent("\x1bP\r\n") == "\x1bP\r\n");
  b.pty.write("+   1255.7 g  \r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  CHECK(b.got.readings[0].stable == true);
  CHECK(b.expect_sent("\x1bP\r\n") == "\x1bP\r\n");
  b.pty.write("+   1255.9    \r\n");
  REQUIRE(b.run_until([&] { return b.count() == 2; }));
  CHECK(b.got.readings[1].value == 1255.9);
  CHECK(b.got.readings[1].unit == "g");
  CHECK(b.got.readings[1].stable == false);

  REQUIRE(b.command("zero"));
  CHECK(b.expect_sent("\x1bV\r\n").find("\x1bV\r\n") != std::string::npos);
}

TEST_CASE("scale-serial: 7E1 and the baud rate really reach the port") {
  // make_termios is what open_serial applies: the framing bits, checked here because a pty forces 8N1.
  const termios tio = make_termios(SerialSettings{"/dev/x", 2400, "7E1"}, termios{});
  CHECK((tio.c_cflag & (CSIZE | PARENB | PARODD | CSTOPB)) == (CS7 | PARENB));
  CHECK((tio.c_iflag & INPCK) != 0);
  CHECK(cfgetispeed(&tio) == B2400);

  // The driver opens with its keys: baud and raw mode survive on a pty.
  Bench b("protocol = \"adam\"\nbaud = 4800\nframing = \"7E1\"\n");
  b.driver->open();
  termios got{};
  REQUIRE(tcgetattr(b.driver->fd(), &got) == 0);
  CHECK(cfgetispeed(&got) == B4800);
  CHECK(cfgetospeed(&got) == B4800);
  CHECK((got.c_lflag & (ICANON | ECHO | ISIG)) == 0);
  CHECK((got.c_oflag & OPOST) == 0);
  CHECK((got.c_cflag & CLOCAL) != 0);
}

TEST_CASE("scale-serial Adam: plain lines are not stable, and an unplugged adapter is a device error") {
  Bench b("protocol = \"adam\"\npoll_ms = 100\nunit = \"lb\"\n");
  b.driver->open();
  REQUIRE(b.pty.read(1s, 3) == "P\r\n");
  b.pty.write("      453.59 g \r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1; }));
  CHECK(b.got.readings[0].value == 0.999995);
  CHECK(b.got.readings[0].stable == false);

  REQUIRE(b.pty.wait_drained());
  b.pty.unplug();
  const auto err = until_error(b, 3s);
  REQUIRE(err);
  CHECK(err->errnum() != ETIMEDOUT);  // a hang-up, not silence
  b.driver->close();
  b.pty.plug();
  b.driver->open();
  CHECK(b.expect_sent("P\r\n").find("P\r\n") != std::string::npos);
}

TEST_CASE("scale-serial keys are validated with positions") {
  const auto problems = [](const std::string& keys) {
    return test::configure_driver(
               &scale_serial::configure,
               "[station]\nid = \"s\"\n[[devices]]\nname = \"scale\"\ndriver = \"scale-serial\"\nport = \"/dev/x\"\n" + keys)
        .problems;
  };
  CHECK(problems("protocol = \"mt-sics\"\n").empty());
  const auto missing = problems("");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].find("missing required key 'protocol'") != std::string::npos);
  const auto bad = problems("protocol = \"kern\"\npoll_ms = 10\nunit = \"stone\"\ntimeout_ms = 50\n");
  REQUIRE(bad.size() == 4);
  CHECK(bad[0].rfind("t.toml:7:", 0) == 0);
  CHECK(bad[0].find("\"kern\" is not one of \"mt-sics\", \"and\", \"ohaus\", \"sartorius\", \"adam\"") !=
        std::string::npos);
  CHECK(bad[1].rfind("t.toml:8:", 0) == 0);
  CHECK(bad[1].find("poll_ms") != std::string::npos);
  CHECK(bad[2].rfind("t.toml:10:", 0) == 0);
  CHECK(bad[2].find("timeout_ms") != std::string::npos);
  CHECK(bad[3].rfind("t.toml:9:", 0) == 0);
  CHECK(bad[3].find("\"stone\"") != std::string::npos);
  CHECK(problems("protocol = \"and\"\nframing = \"7E1\"\nbaud = 2400\npoll_ms = 0\ntimeout_ms = 0\n").empty());
}

TEST_CASE("scale-serial sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/scale_serial/sample.toml");
  REQUIRE(in);
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Both [[devices]] tables of the sample configure without a problem.
  REQUIRE(test::device_count(sample) == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const auto c = test::configure_driver(&scale_serial::configure, sample, "sample.toml", i);
    CHECK(c.problems.empty());
    CHECK(c.make);
  }
}

TEST_CASE("scale-serial: a unit that is not a mass is dropped naming the unit, never published") {
  Bench b("protocol = \"and\"\npoll_ms = 0\n");
  b.driver->open();
  // A&D EK-L manual examples: a stable count and a percentage; then a weight in tola (A&D "t", 11.6638038 g).
  b.pty.write("QT,+00012345 PC\r\nST,+000123.4  %\r\nST,+0001.000  t\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 1 && b.got.drops.size() == 2; }));
  CHECK(b.got.drops[0] == "unit \"pcs\" is not a mass tallyd converts (set the scale to g, kg, lb or oz)");
  CHECK(b.got.drops[1].rfind("unit \"%\"", 0) == 0);
  REQUIRE(b.got.readings[0].value);
  CHECK(*b.got.readings[0].value == Approx(11.664).margin(1e-9));  // 1.000 t: 0.001 tola = 0.0117 g, 3 decimals
}

TEST_CASE("scale-serial Sartorius autoprint: identification and status lines are never a weight") {
  Bench b("protocol = \"sartorius\"\npoll_ms = 0\n");
  b.driver->open();
  // A stable line sets the unit; a GMP header and a serial-number line follow (Signum manual, numat/sartorius),
  // then an unstable line, then status lines (Entris II manual).
  b.pty.write("N     +   123.56 g  \r\nSer.No     12345678 \r\n37454321\r\nType           SIWR\r\n"
              "N     +   123.60    \r\nStat     High       \r\nStat     APP.ERR    \r\n");
  REQUIRE(b.run_until([&] { return b.count() == 4; }));
  CHECK(*b.got.readings[0].value == Approx(123.56));
  CHECK(*b.got.readings[1].value == Approx(123.60));
  CHECK(b.got.readings[1].stable == false);
  CHECK_FALSE(b.got.readings[2].value);
  CHECK(b.got.readings[2].fault == "overload");
  CHECK(b.got.readings[3].fault == "error APP.ERR");
  b.run_for(50ms);
  CHECK(b.count() == 4);
}

TEST_CASE("scale-serial Sartorius: status lines and refusals are readings with a fault, never silence") {
  Bench b("protocol = \"sartorius\"\npoll_ms = 0\ntimeout_ms = 0\n");
  b.driver->open();
  // Forms real balances send (sartoriuslib's and sartoriusb's tests, corpus/sartorius.tsv): bare special codes, "Stat"
  // with one blank, a refusal, "?" before the sign, the sign glued to the digits.
  b.pty.write("H\r\nStat Low\r\nStat ERR 101\r\nAPP. ERR\r\nERR\r\n?+     1.0 g\r\n+123.45678 g  \r\n");
  REQUIRE(b.run_until([&] { return b.count() == 7; }));
  const auto& r = b.got.readings;
  for (std::size_t i = 0; i < 5; ++i) {
    INFO(i);
    CHECK_FALSE(r[i].value);
    CHECK(r[i].stable == false);
  }
  CHECK(r[0].fault == "overload");
  CHECK(r[1].fault == "underload");
  CHECK(r[2].fault == "error 101");
  CHECK(r[3].fault == "error APP. ERR");
  CHECK(r[4].fault == "error: command refused (ERR)");
  CHECK(*r[5].value == Approx(1.0));
  CHECK(r[5].stable == false);  // "?" says not stable, though the unit is there
  CHECK(*r[6].value == Approx(123.45678));
  CHECK(r[6].stable == true);
  CHECK(b.got.drops.empty());
}

TEST_CASE("scale-serial Sartorius: ERR refuses a tare in flight") {
  Bench b("protocol = \"sartorius\"\npoll_ms = 0\ntimeout_ms = 0\n");
  b.driver->open();
  REQUIRE(b.command("tare"));
  CHECK(b.expect_sent("\x1bU\r\n").find("\x1bU\r\n") != std::string::npos);
  b.pty.write("ERR\r\n");
  REQUIRE(b.run_until([&] { return b.outcome.has_value(); }));
  CHECK_FALSE(b.outcome->ok);
  CHECK(b.outcome->detail == "scale refused tare: command refused (ERR)");
  CHECK(b.count() == 0);  // the refusal answers the command: not also a faulted reading
}

TEST_CASE("scale-serial Adam CPWplus: G/W and N/W replies are weights") {
  Bench b("protocol = \"adam\"\npoll_ms = 0\ntimeout_ms = 0\nunit = \"kg\"\n");
  b.driver->open();
  b.pty.write("G/W  + 5.00 lb\r\nN/W  - 0.50 kg\r\n");
  REQUIRE(b.run_until([&] { return b.count() == 2; }));
  CHECK(*b.got.readings[0].value == Approx(2.268).margin(0.001));
  CHECK(*b.got.readings[1].value == Approx(-0.50));
  CHECK(b.got.drops.empty());
}
