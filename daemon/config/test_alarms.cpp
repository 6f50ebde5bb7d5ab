// [[alarms]] and [[notify]] as an owner writes them, and every mistake reported with its position.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "config/config.hpp"
#include "config/config_problems.hpp"
#include "support/temp_dir.hpp"

using namespace tally;
using tally::test::has;
using tally::test::problems;

namespace {
const std::string station = "[station]\nid = \"s\"\n\n[[devices]]\nname = \"kettle\"\ndriver = \"simulated\"\n\n";
}

TEST_CASE("[[alarms]] rules are read with every key") {
  const Config c = parse_config(station + R"([[alarms]]
id = "kettle-overheat"
device = "kettle"
above = 95
below = 5.5
for_s = 5
deadband = 1.0
severity = "critical"
output = "buzzer"

[[alarms]]
id = "kettle-cold"
device = "kettle"
below = 10
)", "t.toml");
  REQUIRE(c.alarms.size() == 2);
  const AlarmRule& r = c.alarms[0];
  CHECK(r.id == "kettle-overheat");
  CHECK(r.device == "kettle");
  CHECK(r.above == 95.0);
  CHECK(r.below == 5.5);
  CHECK(r.for_s == 5);
  CHECK(r.deadband == 1);
  CHECK(r.severity == Severity::critical);
  CHECK(r.output == "buzzer");
  CHECK(c.alarms[1].severity == Severity::warning);
  CHECK(c.alarms[1].for_s == 0);
  CHECK_FALSE(c.alarms[1].above.has_value());
  CHECK(c.warnings.empty());
}

TEST_CASE("[[alarms]] mistakes are reported with their position") {
  const auto p = problems(station + R"([[alarms]]
id = "Overheat!"
device = "kettel"
severity = "urgent"
for_s = -1

[[alarms]]
id = "cold"
device = "kettle"
above = 5
below = 10
colour = "red"

[[alarms]]
id = "cold"
device = "kettle"
)");
  CHECK(has(p, "t.toml:9:6: alarms[1] (Overheat!) id: must match [a-z0-9_-]{1,64}"));
  CHECK(has(p, "t.toml:10:10: alarms[1] (Overheat!) device: unknown device \"kettel\" (devices: kettle)"));
  CHECK(has(p, "t.toml:9:6: alarms[1] (Overheat!) id: needs \"above\" or \"below\" (or both)"));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.rfind("t.toml:11:12:", 0) == 0; }));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.rfind("t.toml:12:9:", 0) == 0; }));
  CHECK(has(p, "t.toml:18:9: alarms[2] (cold) below: must be less than above"));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.find("colour") != std::string::npos; }));
  CHECK(has(p, "t.toml:22:6: alarms[3] (cold) id: duplicate alarm id \"cold\" (first defined at line 15)"));
}

TEST_CASE("[[notify]] reads its URL from a file or a systemd credential, never from the configuration") {
  tally::test::TempDir dir;
  dir.write("ntfy-url", "https://ntfy.sh/bench-1-alarms-x7Qk\n");
  dir.write("hook-url", "https://hooks.slack.com/services/T000/B000/XXXX\n");
  std::filesystem::create_directories(dir.file("creds"));
  dir.write("creds/hook", "http://127.0.0.1:8080/alarms\n");
  dir.write("bad-url", "ftp://example.com/\n");
  const std::string cfg = station + "[[notify]]\nurl_file = \"ntfy-url\"\nmin_severity = \"critical\"\n\n"
                          "[[notify]]\nname = \"slack\"\nurl_file = \"" + dir.file("hook-url") + "\"\n";
  const Config c = parse_config(cfg, dir.file("tally.toml"));
  REQUIRE(c.notify.size() == 2);
  CHECK(c.notify[0].name == "notify-1");
  CHECK(c.notify[0].url == "https://ntfy.sh/bench-1-alarms-x7Qk");
  CHECK(c.notify[0].format == NotifyFormat::ntfy);  // recognised by its host
  CHECK(c.notify[0].min_severity == Severity::critical);
  CHECK(c.notify[1].format == NotifyFormat::webhook);
  CHECK(c.notify[1].min_severity == Severity::warning);

  ::setenv("CREDENTIALS_DIRECTORY", dir.file("creds").c_str(), 1);
  const Config cred = parse_config(station + "[[notify]]\ncredential = \"hook\"\nformat = \"webhook\"\n", "t.toml");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  REQUIRE(cred.notify.size() == 1);
  CHECK(cred.notify[0].url == "http://127.0.0.1:8080/alarms");

  const auto p = problems(station + "[[notify]]\nurl_file = \"" + dir.file("missing") + "\"\n\n[[notify]]\nurl_file = \"" +
                          dir.file("bad-url") + "\"\n\n[[notify]]\nmin_severity = \"loud\"\n\n[[notify]]\ncredential = \"hook\"\n");
  CHECK(has(p, "t.toml:9:12: notify[1] url_file: cannot read " + dir.file("missing") + ": No such file or directory"));
  CHECK(has(p, "t.toml:12:12: notify[2] url_file: " + dir.file("bad-url") + ": expected an http:// or https:// URL"));
  CHECK(has(p, "t.toml:14:1: notify[3] url_file: missing: give url_file (a file holding the URL) or credential (a systemd credential)"));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.rfind("t.toml:15:16:", 0) == 0; }));
  CHECK(has(p, "t.toml:18:14: notify[4] credential: CREDENTIALS_DIRECTORY is not set (not started by systemd with LoadCredential=)"));
}
