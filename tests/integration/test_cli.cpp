// The command line as an operator or systemd uses it: exit codes and what is printed.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {
struct Run {
  int code;
  std::string output;
};
Run run_tallyd(TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TALLYD_PATH);
  Process p(args, dir.file("cli.log"));
  const auto code = p.wait(10s);
  REQUIRE(code.has_value());
  return {*code, p.log()};
}
}  // namespace

TEST_CASE("tallyd --version prints the version and exits 0") {
  TempDir dir;
  const auto r = run_tallyd(dir, {"--version"});
  CHECK(r.code == 0);
  CHECK(r.output.rfind("tallyd ", 0) == 0);
}

TEST_CASE("tallyd --check-config accepts a valid file and every example configuration") {
  TempDir dir;
  const auto path = dir.write("ok.toml", "[station]\nid = \"s1\"\n");
  auto r = run_tallyd(dir, {"--check-config", "--config", path});
  CHECK(r.code == 0);
  CHECK(r.output.find(path + ": OK") != std::string::npos);
  for (const char* example : {"demo.toml", "process-station.toml", "discrete-station.toml"}) {
    INFO(example);
    r = run_tallyd(dir, {"--check-config", "--config", std::string(TALLY_SOURCE_DIR) + "/config/" + example});
    INFO(r.output);
    CHECK(r.code == 0);
  }
}

TEST_CASE("tallyd --check-config rejects a broken file with exit 78 and every problem's position") {
  TempDir dir;
  const auto path = dir.write("bad.toml", "[station]\nid = \"s 1\"\nmode = \"batch\"\n[buffer]\nmax_mb = -1\n");
  const auto r = run_tallyd(dir, {"--check-config", "--config", path});
  CHECK(r.code == 78);
  CHECK(r.output.find(path + ":2:6: [station] id: must match [A-Za-z0-9_-]+") != std::string::npos);
  CHECK(r.output.find(path + ":3:8: [station] mode:") != std::string::npos);
  CHECK(r.output.find(path + ":5:10: [buffer] max_mb:") != std::string::npos);
}

TEST_CASE("starting with a broken or missing configuration exits 78") {
  TempDir dir;
  const auto path = dir.write("bad.toml", "[station\n");
  CHECK(run_tallyd(dir, {"--config", path}).code == 78);
  const auto r = run_tallyd(dir, {"--config", dir.file("missing.toml")});
  CHECK(r.code == 78);
  CHECK(r.output.find("cannot read the configuration file") != std::string::npos);
}

TEST_CASE("bad arguments exit 64 with usage") {
  TempDir dir;
  auto r = run_tallyd(dir, {"--frobnicate"});
  CHECK(r.code == 64);
  CHECK(r.output.find("usage: tallyd") != std::string::npos);
  r = run_tallyd(dir, {"--log-level", "loud"});
  CHECK(r.code == 64);
}

TEST_CASE("SIGHUP reloads devices, and an invalid new configuration is rejected and the old one kept") {
  TempDir dir;
  Broker broker(dir.path());
  Pty pty(dir.file("ttyUSB0"));
  Subscriber sub(broker.url(), "tally/#", "e2e-reload");
  Daemon tallyd(dir, station_config(broker, dir, serial_device("kettle", pty.link())));
  tallyd.start();
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "device.online").empty(); }));
  pty.write("T=1 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return records(all, base + "/readings/kettle").size() == 1; }));

  // Broken: rejected, the kettle keeps reading.
  dir.write("tally.toml", "[station]\nid = \"bench-1\"\n[[devices]]\nname = \"x\"\n");
  tallyd.process->signal(SIGHUP);
  REQUIRE(wait_until([&] { return tallyd.log().find("keeping the running configuration") != std::string::npos; }));
  pty.write("T=2 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return records(all, base + "/readings/kettle").size() == 2; }));

  // Valid: a simulated device joins, the kettle stays, buffered records keep their seq.
  dir.write("tally.toml", station_config(broker, dir, serial_device("kettle", pty.link()) +
                                                          "[[devices]]\nname = \"sim\"\ndriver = \"simulated\"\n"
                                                          "waveform = \"constant\"\nmin = 7\nmax = 7\npoll_ms = 50\n"));
  tallyd.process->signal(SIGHUP);
  REQUIRE(sub.wait_for([](const auto& all) { return !records(all, base + "/readings/sim").empty(); }));
  CHECK(records(sub.messages(), base + "/readings/sim")[0]["value"] == 7.0);
  pty.write("T=3 C\r\n");
  REQUIRE(sub.wait_for([](const auto& all) { return records(all, base + "/readings/kettle").size() == 3; }));
  const auto seqs = first_seqs(sub.messages());
  for (std::size_t i = 0; i < seqs.size(); ++i) REQUIRE(seqs[i] == static_cast<long long>(i + 1));
  CHECK(tallyd.process->running());
}
