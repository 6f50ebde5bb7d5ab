// systemd's notify protocol as tallyd speaks it (systemd/tallyd.service has Type=notify and WatchdogSec=): the test
// owns the datagram socket $NOTIFY_SOCKET names, as systemd would, and reads what a real tallyd sends.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tally::test::Process;
using tally::test::TempDir;

struct Notification {
  Clock::time_point at;
  std::string text;
};

// The service manager's end: a bound unix datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof addr.sun_path);
    path.copy(addr.sun_path, path.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  // Every datagram that arrives within `window`.
  std::vector<Notification> read_for(std::chrono::milliseconds window) {
    std::vector<Notification> out;
    const auto end = Clock::now() + window;
    while (Clock::now() < end) {
      if (auto n = next(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()))) out.push_back(*n);
    }
    return out;
  }
  // The first datagram containing `line` within `deadline`.
  std::optional<Notification> wait_for(const std::string& line, std::chrono::milliseconds deadline) {
    const auto end = Clock::now() + deadline;
    while (Clock::now() < end) {
      auto n = next(std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()));
      if (n && has_line(n->text, line)) return n;
    }
    return std::nullopt;
  }
  static bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text + "\n").find("\n" + line + "\n") != std::string::npos;
  }

 private:
  std::optional<Notification> next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(timeout.count(), 0))) <= 0) return std::nullopt;
    char buf[4096];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    return Notification{Clock::now(), std::string(buf, static_cast<std::size_t>(n))};
  }
  std::string path_;
  int fd_ = -1;
};

// A station with one simulated device and no broker (tallyd buffers until one appears).
std::string station(const TempDir& dir) {
  return "[station]\nid = \"notify-1\"\n\n[mqtt]\nurl = \"tcp://127.0.0.1:9\"\n\n[buffer]\npath = \"" +
         dir.file("buffer.db") +
         "\"\n\n[[devices]]\nname = \"room\"\ndriver = \"simulated\"\nquantity = \"temperature\"\nunit = \"degC\"\n"
         "poll_ms = 200\n";
}

// tallyd started as systemd would start it with WatchdogSec=: NOTIFY_SOCKET and WATCHDOG_USEC in its environment.
std::unique_ptr<Process> start_tallyd(const TempDir& dir, const std::string& socket, std::chrono::microseconds watchdog) {
  ::setenv("NOTIFY_SOCKET", socket.c_str(), 1);
  ::setenv("WATCHDOG_USEC", std::to_string(watchdog.count()).c_str(), 1);
  auto p = std::make_unique<Process>(
      std::vector<std::string>{TALLYD_PATH, "--config", dir.write("tally.toml", station(dir))}, dir.file("tallyd.log"));
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  return p;
}

}  // namespace

TEST_CASE("tallyd says READY=1 once its buffer and devices are open, with a STATUS line") {
  TempDir dir;
  NotifySocket manager(dir.file("notify"));
  auto tallyd = start_tallyd(dir, dir.file("notify"), 2s);
  auto ready = manager.wait_for("READY=1", 10s);
  REQUIRE(ready);
  // By then the buffer exists (not readable by other users) and the device was opened.
  struct stat st{};
  REQUIRE(::stat(dir.file("buffer.db").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(tallyd->log().find("device room: online") != std::string::npos);
  CHECK(ready->text.find("STATUS=Running station notify-1, 1 devices") != std::string::npos);

  tallyd->signal(SIGTERM);
  auto stopping = manager.wait_for("STOPPING=1", 5s);
  REQUIRE(stopping);
  CHECK(tallyd->wait(5s) == 0);
}

TEST_CASE("tallyd feeds the watchdog at half the interval, and stops when its loop is stuck") {
  TempDir dir;
  NotifySocket manager(dir.file("notify"));
  const auto interval = 600ms;
  auto tallyd = start_tallyd(dir, dir.file("notify"), interval);
  REQUIRE(manager.wait_for("READY=1", 10s));

  // Over 3 s at WATCHDOG_USEC=600 ms: a ping every 300 ms, each well inside the interval.
  std::vector<Clock::time_point> pings;
  for (const auto& n : manager.read_for(3s))
    if (NotifySocket::has_line(n.text, "WATCHDOG=1")) pings.push_back(n.at);
  REQUIRE(pings.size() >= 8);
  CHECK(pings.size() <= 12);
  for (std::size_t i = 1; i < pings.size(); ++i) CHECK(pings[i] - pings[i - 1] < interval);

  // A wedged loop (here: the whole process stopped) sends nothing, which is what makes systemd kill and restart it.
  tallyd->signal(SIGSTOP);
  manager.read_for(100ms);  // what was already in flight
  std::size_t while_stopped = 0;
  for (const auto& n : manager.read_for(2 * interval))
    if (NotifySocket::has_line(n.text, "WATCHDOG=1")) ++while_stopped;
  CHECK(while_stopped == 0);
  tallyd->signal(SIGCONT);
  CHECK(manager.wait_for("WATCHDOG=1", interval));
  tallyd->signal(SIGTERM);
  CHECK(tallyd->wait(5s) == 0);
}

TEST_CASE("without WATCHDOG_USEC tallyd sends no watchdog pings") {
  TempDir dir;
  NotifySocket manager(dir.file("notify"));
  auto tallyd = start_tallyd(dir, dir.file("notify"), 0us);
  REQUIRE(manager.wait_for("READY=1", 10s));
  for (const auto& n : manager.read_for(1s)) CHECK_FALSE(NotifySocket::has_line(n.text, "WATCHDOG=1"));
  tallyd->signal(SIGTERM);
  CHECK(tallyd->wait(5s) == 0);
}
