// Issue #13 end to end: a full disk under tallyd, a damaged buffer file, hostile command publishers. Real
// mosquitto, a real tallyd process, a real (small) filesystem filled to the last block.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "support/small_fs.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

const std::string fast_signal =
    "[[devices]]\nname = \"signal\"\ndriver = \"simulated\"\nquantity = \"temperature\"\nunit = \"degC\"\n"
    "waveform = \"ramp\"\nmin = 10\nmax = 20\npoll_ms = 5\n\n";

// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat.
double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) {
      stime = std::stoll(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("a full disk while the broker is down: bounded memory and CPU, an alarm, recovery when space returns") {
  SmallFilesystem fs(4u << 20);
  TempDir dir;
  Broker broker(dir.path());
  Subscriber sub(broker.url(), "tally/#", "e2e-disk-full");
  broker.stop();
  std::string config = station_config(broker, dir, fast_signal);
  config.replace(config.find(dir.file("buffer.db")), dir.file("buffer.db").size(), fs.file("buffer.db"));
  Daemon tallyd(dir, config);
  tallyd.start();
  REQUIRE(wait_until([&] { return tallyd.log().find("device signal: online") != std::string::npos; }, 30s));
  std::this_thread::sleep_for(1s);  // a backlog on disk before it fills
  fs.fill();
  REQUIRE(wait_until([&] { return tallyd.log().find("buffer: commit failed") != std::string::npos; }, 30s));

  // While the disk stays full: retries are paced, not one per wake-up (200 a second here), and memory is bounded.
  const int pid = tallyd.process->pid();
  const double cpu_before = cpu_seconds(pid);
  std::this_thread::sleep_for(6s);
  const double cpu_used = cpu_seconds(pid) - cpu_before;
  CHECK(cpu_used < 1.5);  // of 6 s: well below a core even on a busy CI machine
  CHECK(rss_kib(pid) < 40 * 1024);
  CHECK(tallyd.process->running());

  fs.release();
  broker.start();
  const auto unexplained = [](const std::vector<Message>& all) {
    const auto seqs = first_seqs(all);
    const std::set<long long> got(seqs.begin(), seqs.end());
    const auto overflows = events(all, "buffer.overflow");
    std::vector<long long> out;
    for (long long s = 1; !got.empty() && s <= *got.rbegin(); ++s) {
      bool announced = got.count(s) > 0;
      for (const auto& o : overflows) announced = announced || (o["first_seq"] <= s && s <= o["last_seq"]);
      if (!announced) out.push_back(s);
    }
    return out;
  };
  const auto alarm = [](const std::vector<Message>& all, const std::string& transition) {
    for (const auto& e : events(all, transition))
      if (e["alarm"] == "buffer.disk") return e;
    return json();
  };
  REQUIRE(sub.wait_for([&](const auto& all) {
    return !alarm(all, "alarm.raised").is_null() && !alarm(all, "alarm.cleared").is_null() &&
           unexplained(all).empty() && first_seqs(all).size() > 1000;
  }, 60s));
  const auto all = sub.messages();
  CHECK(alarm(all, "alarm.raised")["severity"] == "critical");
  CHECK(alarm(all, "alarm.raised")["message"].get<std::string>().find("full") != std::string::npos);
  CHECK(alarm(all, "alarm.raised")["seq"] < alarm(all, "alarm.cleared")["seq"]);
  // The readings taken while the disk was full arrived: nothing committed or queued was lost.
  CHECK(unexplained(all).empty());
  tallyd.process->signal(SIGTERM);
  CHECK(tallyd.process->wait(10s) == std::optional<int>(0));
}
