// The command line as an operator or systemd uses it: exit codes and what is printed.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <sstream>

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

TEST_CASE_METHOD(WithStation,
                 "SIGHUP reloads devices, and an invalid new configuration is rejected and the old one kept") {
  Pty pty(dir.file("ttyUSB0"));
  tallyd.start(config(serial_device("kettle", pty.link())));
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
  dir.write("tally.toml", config(serial_device("kettle", pty.link()) +
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

TEST_CASE_METHOD(WithBroker, "under systemd (NOTIFY_SOCKET) tallyd reports READY, RELOADING and STOPPING") {
  const std::string socket_path = dir.file("notify.sock");
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const auto next_message = [&]() -> std::string {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 10'000) != 1) return "(nothing within 10 s)";
    char buf[256];
    const auto n = ::recv(sock, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "(recv failed)";
  };
  // The state a datagram announces: its first line, skipping datagrams that only carry a STATUS= text (tallyd sends
  // those too; tests/packaging/test_notify.cpp checks them).
  const auto next_state = [&]() -> std::string {
    for (;;) {
      const auto m = next_message();
      if (m.rfind("STATUS=", 0) != 0) return m.substr(0, m.find('\n'));
    }
  };

  ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);
  Daemon tallyd(dir, config(""));
  tallyd.start();
  ::unsetenv("NOTIFY_SOCKET");
  CHECK(next_state() == "READY=1");
  tallyd.process->signal(SIGHUP);
  CHECK(next_state() == "RELOADING=1");
  CHECK(next_state() == "READY=1");
  tallyd.process->signal(SIGTERM);
  CHECK(next_state() == "STOPPING=1");
  const auto code = tallyd.process->wait(5s);
  INFO("exit " << (code ? std::to_string(*code) : "none") << "\n" << tallyd.log());
  CHECK(code == std::optional<int>(0));
  ::close(sock);
}

TEST_CASE("SIGTERM while the broker never answers the connect still exits 0 within 5 s, records kept") {
  TempDir dir;
  // A "broker" that completes TCP handshakes (the kernel does, from the backlog) but never sends CONNACK.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(silent, 8) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string url = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  const std::string config = "[station]\nid = \"bench-1\"\n[mqtt]\nurl = \"" + url + "\"\n[buffer]\npath = \"" +
                             dir.file("buffer.db") + "\"\n";
  Daemon tallyd(dir, config);
  tallyd.start();
  REQUIRE(wait_until([&] { return tallyd.log().find("topics under") != std::string::npos; }));
  const auto t0 = std::chrono::steady_clock::now();
  tallyd.process->signal(SIGTERM);
  const auto code = tallyd.process->wait(5s);
  INFO(tallyd.log());
  CHECK(code == std::optional<int>(0));
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(tallyd.log().find("records buffered for the next start") != std::string::npos);
  CHECK(tallyd.log().find("still in flight at shutdown") != std::string::npos);  // the path this test is for
  ::close(silent);

  // What it recorded (daemon.started, daemon.stopped) is still there for the next start.
  Broker broker(dir.path());
  Subscriber sub(broker.url(), "tally/#", "e2e-silent-broker");
  Daemon again(dir, station_config(broker, dir, ""));
  again.start();
  REQUIRE(sub.wait_for([](const auto& all) { return events(all, "daemon.started").size() == 2; }));
  CHECK(events(sub.messages(), "daemon.stopped").size() == 1);
}

TEST_CASE_METHOD(WithBroker, "under journald (JOURNAL_STREAM) every log line starts with its numeric syslog priority") {
  ::setenv("JOURNAL_STREAM", "8:12345", 1);
  Daemon tallyd(dir, config("[[devices]]\nname = \"gone\"\ndriver = \"serial-line\"\nport = \"" +
                            dir.file("no-such-tty") + "\"\n"));
  tallyd.start();
  ::unsetenv("JOURNAL_STREAM");
  // journald parses "<4>" (warning) but not "<warning>": `journalctl -p warning` must find the offline device.
  REQUIRE(wait_until([&] { return tallyd.log().find("<4>warning: device gone: offline") != std::string::npos; }));
  CHECK(tallyd.log().find("<6>info: tallyd") != std::string::npos);
  std::istringstream lines(tallyd.log());
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK((line.size() > 3 && line[0] == '<' && line[1] >= '0' && line[1] <= '7' && line[2] == '>'));
  }
}
