#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "config/config.hpp"
#include "config/config_problems.hpp"
#include "config/config_error.hpp"
#include "api/table_reader.hpp"
#include "support/temp_dir.hpp"

using namespace tally;
using tally::test::has;
using tally::test::problems;

namespace {

const char* const good = R"(
[station]
id = "bench-1"
prefix = "acme/plant1/soap"
mode = "discrete"
downtime_s = 120

[mqtt]
url = "tcp://127.0.0.1:1883"
username = "tally"
keepalive_s = 15
version = "5"

[buffer]
path = "/tmp/tally-test.db"
max_mb = 0.5
sync = "full"

[[devices]]
name = "kettle"
driver = "serial-line"
port = "/dev/serial/by-id/usb-arduino"
baud = 115200
framing = "7E1"
pattern = 'T=([-0-9.]+)'
quantity = "temperature"
unit = "degC"
stale_s = 30
deadband = 0.5
publish_every_s = 60

[[devices]]
name = "demo-signal"
driver = "simulated"
waveform = "ramp"
min = 10
max = 20.5
poll_ms = 250
)";

}  // namespace

TEST_CASE("a complete configuration is read with every key") {
  const Config c = parse_config(good, "t.toml");
  CHECK(c.station.id == "bench-1");
  CHECK(c.base_topic() == "acme/plant1/soap/bench-1");
  CHECK(c.station.mode == Mode::discrete);
  CHECK(c.station.downtime_s == 120);
  CHECK(c.mqtt.client_id == "tally-bench-1");
  CHECK(c.mqtt.keepalive_s == 15);
  CHECK(c.mqtt.version == 5);
  CHECK_FALSE(c.mqtt.tls());
  CHECK(c.buffer.max_bytes == 512 * 1024);
  CHECK(c.buffer.sync_full);
  REQUIRE(c.devices.size() == 2);
  CHECK(c.devices[0].name == "kettle");
  CHECK(c.devices[0].driver == "serial-line");
  CHECK(c.devices[0].stale_s == 30);
  CHECK(c.devices[0].deadband == 0.5);
  CHECK(c.devices[0].publish_every_s == 60);
  CHECK(c.devices[0].make != nullptr);
  CHECK(c.devices[1].driver == "simulated");
  CHECK(c.warnings.empty());
}

TEST_CASE("defaults apply when optional sections are missing") {
  const Config c = parse_config("[station]\nid = \"s1\"\n", "t.toml");
  CHECK(c.station.prefix == "tally");
  CHECK(c.station.mode == Mode::process);
  CHECK(c.station.downtime_s == 300);
  CHECK(c.mqtt.url == "tcp://127.0.0.1:1883");
  CHECK(c.mqtt.client_id == "tally-s1");
  CHECK(c.mqtt.version == 4);
  CHECK(c.buffer.path == "/var/lib/tally/buffer.db");
  CHECK(c.buffer.max_bytes == 256ull << 20);
  CHECK_FALSE(c.buffer.sync_full);
  CHECK(c.devices.empty());
}

TEST_CASE("a TOML syntax error is reported with its position") {
  const auto p = problems("[station]\nid = \"s1\nmode = \"process\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0].rfind("t.toml:2:", 0) == 0);
}

TEST_CASE("every problem is reported at once, each with line and column") {
  const auto p = problems(R"([station]
id = "bad id!"
mode = "batch"
colour = "red"

[mqtt]
url = "http://broker"
keepalive_s = "30"

[buffer]
sync = "sometimes"

[[devices]]
name = "Kettle"
driver = "serial-line"
baud = 12345
framing = "9X3"
pattern = '([0-9'

[[devices]]
name = "probe"
driver = "warp-drive"
)");
  CHECK(has(p, "t.toml:2:6: [station] id: must match [A-Za-z0-9_-]+"));
  CHECK(has(p, "t.toml:3:8: [station] mode: \"batch\" is not one of \"process\", \"discrete\""));
  CHECK(has(p, "t.toml:4:1: [station]: unknown key 'colour'"));
  CHECK(has(p, "t.toml:7:7: [mqtt] url: \"http://broker\" is not tcp://HOST:PORT or ssl://HOST:PORT"));
  CHECK(has(p, "t.toml:8:15: [mqtt] keepalive_s: expected an integer"));
  CHECK(has(p, "t.toml:11:8: [buffer] sync: \"sometimes\" is not one of \"normal\", \"full\""));
  CHECK(has(p, "t.toml:14:8: devices[1] (Kettle) name: must match [a-z0-9_-]+"));
  CHECK(has(p, "t.toml:13:1: devices[1] (Kettle): missing required key 'port'"));
  CHECK(has(p, "t.toml:16:8: devices[1] (Kettle) baud: 12345 is not a standard rate (1200 ... 921600)"));
  CHECK(has(p, "t.toml:17:11: devices[1] (Kettle) framing: \"9X3\" is not data bits 5-8, parity N/E/O/M/S, stop bits 1-2 (e.g. \"7E1\")"));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) {
    return s.rfind("t.toml:18:11: devices[1] (Kettle) pattern: invalid regular expression", 0) == 0;
  }));
  CHECK(has(p, "t.toml:22:10: devices[2] (probe) driver: unknown driver \"warp-drive\" (known: gpio-counter, hx711, iio, max31855, max6675, scale-serial, scanner-evdev, scanner-serial, serial-line, simulated)"));
  CHECK(p.size() == 12);
}

TEST_CASE("missing [station] and a duplicate device name are errors") {
  auto p = problems("[mqtt]\nurl = \"tcp://h:1\"\n");
  CHECK(has(p, "t.toml: missing required section [station]"));

  p = problems(R"([station]
id = "s"
[[devices]]
name = "a"
driver = "simulated"
[[devices]]
name = "a"
driver = "simulated"
)");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:8: devices[2] (a) name: duplicate device name \"a\" (first defined at line 4)");
}

TEST_CASE("driver keys are checked by the driver: types, ranges and unknown keys") {
  const auto p = problems(R"([station]
id = "s"
[[devices]]
name = "sim"
driver = "simulated"
min = 10
max = 5
poll_ms = 0
speed = "fast"
)");
  CHECK(has(p, "t.toml:7:7: devices[1] (sim) max: must not be below min"));
  CHECK(has(p, "t.toml:8:11: devices[1] (sim) poll_ms: 0 is out of range [1, 86400000]"));
  CHECK(has(p, "t.toml:9:1: devices[1] (sim): unknown key 'speed'"));
  CHECK(p.size() == 3);
}

TEST_CASE("a serial-line pattern needs a capture group") {
  const auto p = problems(R"([station]
id = "s"
[[devices]]
name = "t"
driver = "serial-line"
port = "/dev/ttyUSB0"
pattern = 'T=[0-9.]+'
)");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[1] (t) pattern: needs a capture group: group 1 is the number");
}

TEST_CASE("the MQTT password is read from password_file, relative to the config") {
  test::TempDir dir;
  dir.write("secret", "s3cret\n");
  const std::string path = dir.write("tally.toml", "[station]\nid = \"s\"\n[mqtt]\nusername = \"u\"\npassword_file = \"secret\"\n");
  const Config c = load_config(path);
  CHECK(c.mqtt.username == "u");
  CHECK(c.mqtt.password == "s3cret");

  const std::string bad = dir.write("bad.toml", "[station]\nid = \"s\"\n[mqtt]\npassword_file = \"/nonexistent/pw\"\n");
  try {
    load_config(bad);
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    REQUIRE(e.problems.size() == 1);
    CHECK(e.problems[0] == bad + ":4:17: [mqtt] password_file: cannot read /nonexistent/pw: No such file or directory");
  }
}

TEST_CASE("TLS settings must be consistent with the url") {
  test::TempDir dir;
  const std::string ca = dir.write("ca.pem", "x");
  auto p = problems("[station]\nid = \"s\"\n[mqtt]\nurl = \"tcp://h:1883\"\nca_file = \"" + ca + "\"\n");
  CHECK(has(p, "t.toml:4:7: [mqtt] url: TLS files are set but the url is not ssl:// or mqtts://"));
  p = problems("[station]\nid = \"s\"\n[mqtt]\nurl = \"ssl://h:8883\"\ncert_file = \"" + ca + "\"\n");
  CHECK(has(p, "t.toml:5:13: [mqtt] cert_file: cert_file and key_file go together"));
  const Config c = parse_config("[station]\nid = \"s\"\n[mqtt]\nurl = \"ssl://h:8883\"\nca_file = \"" + ca + "\"\n", "t.toml");
  CHECK(c.mqtt.tls());
}

TEST_CASE("every section of the contract is read: none is ignored, and a misspelt one is an error") {
  // [[outputs]], [[scan_rules]], [[alarms]] and [[notify]] were once accepted with a "not implemented" warning.
  const Config c = parse_config("[station]\nid = \"s\"\n[[scan_rules]]\npattern = '^WO:(.+)$'\n"
                                "action = \"work_order.start\"\nfields = [\"work_order\"]\n",
                                "t.toml");
  CHECK(c.warnings.empty());
  CHECK(has(problems("[station]\nid = \"s\"\n[[outputz]]\nname = \"x\"\n"), "t.toml:3:3: unknown key 'outputz'"));
}

TEST_CASE("an unreadable file is a configuration error") {
  try {
    load_config("/nonexistent/tally.toml");
    FAIL("expected a config_error");
  } catch (const config_error& e) {
    CHECK(e.problems == std::vector<std::string>{"/nonexistent/tally.toml: cannot read the configuration file: No such file or directory"});
  }
}

// Issue #13 item 6: each of these crashed `--check-config` with a stack overflow (exit 139) in std::regex.
TEST_CASE("values over their length limit are errors with a position, checked before any regex") {
  const std::string long_id(40'000, 'a');
  auto p = problems("[station]\nid = \"" + long_id + "\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:2:6: [station] id: is 40000 characters long; the limit is 64");

  const std::string long_host(200'000, 'h');
  p = problems("[station]\nid = \"s\"\n[mqtt]\nurl = \"tcp://" + long_host + ":1883\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:4:7: [mqtt] url: is 200011 characters long; the limit is 4096");

  const std::string long_name(200'000, 'd');
  p = problems("[station]\nid = \"s\"\n[[devices]]\nname = \"" + long_name + "\"\ndriver = \"simulated\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:4:8: devices[1] name: is 200000 characters long; the limit is 64");

  p = problems("[station]\nid = \"s\"\n[[devices]]\nname = \"t\"\ndriver = \"serial-line\"\nport = \"/dev/" +
               std::string(5000, 'p') + "\"\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:6:8: devices[1] (t) port: is 5005 characters long; the limit is 4096");

  // At the limits exactly: accepted.
  CHECK(problems("[station]\nid = \"" + std::string(64, 'a') + "\"\n").empty());
}

TEST_CASE("a pattern over 1024 characters or nested or repeated too much is an error, never a crash") {
  const auto pattern_problems = [](const std::string& pattern) {
    return problems("[station]\nid = \"s\"\n[[devices]]\nname = \"t\"\ndriver = \"serial-line\"\nport = \"/dev/x\"\n"
                    "pattern = '" + pattern + "'\n");
  };
  std::string nested;
  for (int i = 0; i < 20'000; ++i) nested += '(';
  nested += "[0-9]+";
  for (int i = 0; i < 20'000; ++i) nested += ')';
  auto p = pattern_problems(nested);
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[1] (t) pattern: is 40006 characters long; the limit is 1024");

  std::string deep;
  for (int i = 0; i < 17; ++i) deep += '(';
  deep += "[0-9]+";
  for (int i = 0; i < 17; ++i) deep += ')';
  p = pattern_problems(deep);
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[1] (t) pattern: groups nested deeper than 16");

  p = pattern_problems("((((x{100}){100}){100}))([0-9]+)");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[1] (t) pattern: nested repeat counts expand to 1000000 copies; the limit is 10000");
  p = pattern_problems("(a{5000})");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:7:11: devices[1] (t) pattern: repeat count 5000 is above the limit of 1000");

  // Sequential counts add up, they do not multiply; escaped and bracketed parentheses are not groups.
  CHECK(pattern_problems("a{999}b{999}c{9}([0-9]+)").empty());
  CHECK(pattern_problems("\\((\\d+)[(((]").empty());
}

TEST_CASE("limits::pattern_problem bounds what std::regex would be asked to compile") {
  CHECK(limits::pattern_problem("T=([-0-9.]+)").empty());
  CHECK(limits::pattern_problem("(x{10}){10}").empty());
  CHECK(limits::pattern_problem("((x{10}){10}){101}") == "nested repeat counts expand to 10100 copies; the limit is 10000");
  CHECK(limits::pattern_problem("x{1001,}") == "repeat count 1001 is above the limit of 1000");
  CHECK(limits::pattern_problem("{12").empty());  // not a count: std::regex reports it
}

// A FIFO in place of a file froze the daemon (and --check-config) waiting for a writer; a huge file was read whole.
// Every file the configuration names is opened without blocking, must be a regular file, and is read up to a bound.
TEST_CASE("files the configuration names: a FIFO or an oversized file is refused at once, never waited on") {
  test::TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string big = dir.file("big");
  { std::ofstream(big) << std::string(5000, 'x') << "\n"; }

  const auto started = std::chrono::steady_clock::now();
  // The configuration file itself.
  try {
    load_config(fifo);
    FAIL("a FIFO was read as a configuration");
  } catch (const config_error& e) {
    CHECK(e.problems == std::vector<std::string>{fifo + ": cannot read the configuration file: not a regular file (a FIFO)"});
  }
  const std::string huge = dir.write("huge.toml", "[station]\nid = \"s\"\n#" + std::string(2u << 20, 'x') + "\n");
  try {
    load_config(huge);
    FAIL("a 2 MiB configuration was read");
  } catch (const config_error& e) {
    REQUIRE(e.problems.size() == 1);
    INFO(e.problems[0]);
    CHECK(e.problems[0].find(": cannot read the configuration file: 2097173 bytes, more than the 1048576 read") !=
          std::string::npos);
  }
  // password_file, url_file and the TLS files.
  const auto p = problems("[station]\nid = \"s\"\n[mqtt]\nurl = \"ssl://127.0.0.1:8883\"\npassword_file = \"" + fifo +
                          "\"\nca_file = \"" + fifo + "\"\n[[notify]]\nurl_file = \"" + big + "\"\n[[notify]]\nurl_file = \"" +
                          fifo + "\"\n");
  CHECK(has(p, "t.toml:5:17: [mqtt] password_file: cannot read " + fifo + ": not a regular file (a FIFO)"));
  CHECK(has(p, "t.toml:6:11: [mqtt] ca_file: cannot read " + fifo + ": not a regular file (a FIFO)"));
  CHECK(has(p, "t.toml:8:12: notify[1] url_file: cannot read " + big + ": 5001 bytes, more than the 4098 read"));
  CHECK(has(p, "t.toml:10:12: notify[2] url_file: cannot read " + fifo + ": not a regular file (a FIFO)"));
  // No writer ever opened the FIFO: had anything waited for one, this test would not have finished at all.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}
