#pragma once
// tally-bench's shared parts: options, the tallyd instances it runs, and the Bench whose phases live in
// phase_*.cpp. See README.md.
#include <signal.h>
#include <sqlite3.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <set>
#include <sstream>
#include <thread>

#include "harness.hpp"
#include "mqtt_peers.hpp"

#ifndef TALLY_BENCH_TALLYD
#define TALLY_BENCH_TALLYD "tallyd"
#endif
#ifndef TALLY_BENCH_SQLITE
#define TALLY_BENCH_SQLITE ""
#endif
#ifndef TALLY_SOURCE_DIR
#define TALLY_SOURCE_DIR "."
#endif

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace bench {

// ---------------------------------------------------------------- options

struct Options {
  bool quick = false;
  std::string tallyd = TALLY_BENCH_TALLYD;
  std::string mosquitto = "/usr/sbin/mosquitto";
  std::string sqlite_experiment = TALLY_BENCH_SQLITE;
  std::string out = "benchmarks.json";
  std::string work_dir;  // default: a new directory under /var/tmp (a disk, so /proc/PID/io write_bytes counts)
  int devices = 4;
  std::vector<double> latency_rates = {10, 100, 1000};
  double ceiling_s = 10, saturation_s = 10, latency_s = 30, idle_s = 60, disk_s = 60;
  std::int64_t backlog = 1'000'000;
  double backlog_rate = 50'000;  // readings/s while buffering the backlog; 0 = as fast as the ptys take them
  std::int64_t burst = 100'000;
  int startup_runs = 5;
  bool backlog_restart = true;
  std::set<std::string> only;
  bool keep = false;
  double timeout_s = 1800;
  std::string log_level = "info";
  std::string commit;  // what the measured tallyd was built from, when not this source tree
};

const std::vector<std::string> kPhases = {"latency", "idle", "throughput", "disk", "startup", "burst", "backlog"};

Options parse(int argc, char** argv);

template <class... Args>
void say(const char* fmt, Args... args) {
  std::fprintf(stderr, "[%7.1fs] ", static_cast<double>(now_ns()) / 1e9);
  if constexpr (sizeof...(Args) == 0) std::fputs(fmt, stderr);  // no format string without arguments
  else std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
}
inline double r2(double v) { return std::round(v * 100) / 100; }
inline double r3(double v) { return std::round(v * 1000) / 1000; }

// ---------------------------------------------------------------- the feeder

// Writes "T=<n> C\n" lines to the devices' pseudo-terminals, n being a counter from the Recorder, and records the
// steady-clock time each line was written: the moment the reading was "taken".
class Feeder {
 public:
  Feeder(Recorder& recorder, std::vector<int> masters) : rec_(recorder), masters_(std::move(masters)) {}

  // `rate` lines/s in total, round robin over the devices, for `duration_s`.
  Range paced(double rate, double duration_s) {
    const auto total = static_cast<std::int64_t>(std::llround(rate * duration_s));
    Range r{rec_.take(total), 0};
    const std::size_t ndev = masters_.size();
    std::vector<std::string> bufs(ndev);
    const std::int64_t t0 = now_ns() + 2'000'000;
    std::int64_t i = 0;
    while (i < total) {
      const std::int64_t now = now_ns();
      const std::int64_t due =
          now < t0 ? 0 : std::min<std::int64_t>(total, static_cast<std::int64_t>(static_cast<double>(now - t0) * rate / 1e9) + 1);
      if (due > i) {
        const std::int64_t t_write = now_ns();
        for (std::int64_t k = i; k < due; ++k) {
          const std::int64_t n = r.begin + k;
          bufs[static_cast<std::size_t>(k) % ndev] += "T=" + std::to_string(n) + " C\n";
          rec_.set_sent(n, t_write);
        }
        for (std::size_t d = 0; d < ndev; ++d) {
          write_all(masters_[d], bufs[d]);
          bufs[d].clear();
        }
        i = due;
      }
      if (i >= total) break;
      sleep_until_ns(t0 + static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / rate));
    }
    r.end = r.begin + i;
    return r;
  }

  // Closed loop: keeps `target` readings fed but not yet delivered (so the daemon always has work queued and is
  // saturated), for `duration_s`. The input rate then equals the delivered rate.
  Range saturate(double duration_s, std::int64_t target) {
    const auto budget = static_cast<std::int64_t>(duration_s * 60'000) + 1000;
    Range r{rec_.take(budget), 0};
    const std::size_t ndev = masters_.size();
    std::vector<std::string> bufs(ndev);
    const std::int64_t base = rec_.unique();
    const std::int64_t t0 = now_ns(), end = t0 + static_cast<std::int64_t>(duration_s * 1e9);
    std::int64_t fed = 0;
    while (now_ns() < end && fed < budget) {
      std::int64_t want = std::min<std::int64_t>({rec_.unique() - base + target - fed, 2000, budget - fed});
      if (want > 0) {
        const std::int64_t t = now_ns();
        for (std::int64_t k = 0; k < want; ++k) {
          const std::int64_t n = r.begin + fed + k;
          bufs[static_cast<std::size_t>(n) % ndev] += "T=" + std::to_string(n) + " C\n";
          rec_.set_sent(n, t);
        }
        for (std::size_t d = 0; d < ndev; ++d) {
          write_all(masters_[d], bufs[d]);
          bufs[d].clear();
        }
        fed += want;
      }
      sleep_for_s(0.0005);
    }
    r.end = r.begin + fed;
    return r;
  }

  // `count` lines as fast as the pseudo-terminals take them.
  Range flood(std::int64_t count) {
    Range r{rec_.take(count), 0};
    r.end = r.begin + count;
    const std::size_t ndev = masters_.size();
    struct Pending {
      std::string data;
      std::size_t off = 0;
    };
    std::vector<Pending> pend(ndev);
    std::int64_t next = r.begin;
    auto last_progress = now_ns();
    for (;;) {
      bool progress = false, busy = false;
      for (std::size_t d = 0; d < ndev; ++d) {
        auto& p = pend[d];
        if (p.off == p.data.size() && next < r.end) {
          p.data.clear();
          p.off = 0;
          const std::int64_t t = now_ns();
          for (int k = 0; k < 256 && next < r.end; ++k, ++next) {
            p.data += "T=" + std::to_string(next) + " C\n";
            rec_.set_sent(next, t);
          }
        }
        if (p.off < p.data.size()) {
          busy = true;
          const ssize_t w = ::write(masters_[d], p.data.data() + p.off, p.data.size() - p.off);
          if (w > 0) {
            p.off += static_cast<std::size_t>(w);
            progress = true;
          } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            throw std::runtime_error(std::string("feeder: write: ") + std::strerror(errno));
          }
        }
      }
      if (!busy && next >= r.end) break;
      if (progress) {
        last_progress = now_ns();
        continue;
      }
      if (seconds_since(last_progress) > 20) throw std::runtime_error("feeder: nobody reads the devices (20 s)");
      std::vector<pollfd> fds;
      for (int m : masters_) fds.push_back({m, POLLOUT, 0});
      ::poll(fds.data(), fds.size(), 50);
    }
    return r;
  }

  // One line to device 0 every `interval_s` until `stop`, counters from `r`; for start-up timing.
  void trickle(Range r, double interval_s, const std::atomic<bool>& stop) {
    for (std::int64_t n = r.begin; !stop.load() && n < r.end; ++n) {
      const std::string line = "T=" + std::to_string(n) + " C\n";
      rec_.set_sent(n, now_ns());
      [[maybe_unused]] const ssize_t w = ::write(masters_[0], line.data(), line.size());
      sleep_for_s(interval_s);
    }
  }

 private:
  static void write_all(int fd, const std::string& data) {
    std::size_t off = 0;
    const auto deadline = now_ns() + 20'000'000'000LL;
    while (off < data.size()) {
      const ssize_t w = ::write(fd, data.data() + off, data.size() - off);
      if (w > 0) {
        off += static_cast<std::size_t>(w);
        continue;
      }
      if (w < 0 && errno != EAGAIN && errno != EINTR)
        throw std::runtime_error(std::string("feeder: write: ") + std::strerror(errno));
      if (now_ns() > deadline) throw std::runtime_error("feeder: nobody reads the devices (20 s)");
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 50);
    }
  }

  Recorder& rec_;
  std::vector<int> masters_;
};


// ---------------------------------------------------------------- load

// CPU of the processes involved and of the whole machine over a window: "other" is what else ran meanwhile (on
// a shared machine, someone's build), which the figures should be read against.
struct LoadSample {
  std::int64_t t_ns = 0;
  double tallyd = 0, broker = 0, self = 0, busy = 0;
  CpuSample tallyd_detail;
};

LoadSample load_sample(pid_t tallyd, pid_t broker);
json load_json(const LoadSample& a, const LoadSample& b);

// ---------------------------------------------------------------- a tallyd instance

struct Instance {
  std::string station, dir, buffer;
  std::vector<std::unique_ptr<Pty>> ptys;
  std::unique_ptr<Child> child;
  std::vector<int> masters() const {
    std::vector<int> m;
    for (const auto& p : ptys) m.push_back(p->master_fd());
    return m;
  }
  pid_t pid() const { return child ? child->pid() : -1; }
  std::string config() const { return dir + "/tally.toml"; }
  std::string log() const { return dir + "/tallyd.log"; }
};

class Bench {
 public:
  explicit Bench(Options o) : opt_(std::move(o)) {}
  int run();

 private:
  bool want(const std::string& phase) const { return opt_.only.empty() || opt_.only.count(phase) > 0; }
  std::unique_ptr<Instance> make_instance(const std::string& station, const std::string& sync, double max_mb,
                                          const std::string& buffer = "");
  void start(Instance& in);
  void wait_ready(Instance& in, double timeout_s = 20);
  void stop(Instance& in);
  std::int64_t capacity() const;

  void machine_info();
  void phase_latency_memory(Instance& in);
  void phase_idle(Instance& in);
  void phase_throughput(Instance& in);
  void phase_disk();
  void phase_startup();
  void phase_burst();
  void phase_backlog();
  void summarise();
  void print_table() const;

  Options opt_;
  std::string work_;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<Recorder> rec_;
  json out_ = json::object();
  std::size_t payload_size_ = 0;  // average tallyd reading payload, for the ceiling
  double steady_rate_ = 0;        // delivered records/s at saturation
  int instance_no_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace bench
