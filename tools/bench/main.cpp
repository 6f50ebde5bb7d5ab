// tally-bench: measures tallyd end to end against a real mosquitto, through the real input path (serial-line
// devices on pseudo-terminals), and against the same machine's ceiling (a plain Paho QoS 1 publisher). Writes JSON
// and prints a table. Not a test: it reports numbers and the targets of issue 5, and exits 0 after a bounded run
// (non-zero only when the benchmark itself could not run). See tools/bench/README.md.
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
namespace {

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

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: tally-bench [--quick] [options]\n"
               "Starts mosquitto, a recording subscriber and tallyd with serial-line devices on pseudo-terminals,\n"
               "and measures throughput (against a plain Paho publisher), latency, memory, CPU, idle wake-ups,\n"
               "disk writes, backlog drain and start-up. Writes JSON (--out) and prints a table.\n"
               "  --quick               smoke run, about 2 minutes (shorter phases, 50,000-record backlog)\n"
               "  --tallyd PATH         the daemon (default: the one built with this program)\n"
               "  --mosquitto PATH      default /usr/sbin/mosquitto\n"
               "  --out FILE            JSON output (default benchmarks.json)\n"
               "  --work-dir DIR        where buffers, configs and logs go (default: new dir in /var/tmp)\n"
               "  --devices N           serial-line devices per daemon (default 4)\n"
               "  --ceiling-s S         each plain-Paho ceiling run: 4 (quick: 3), interleaved (default 10; quick 5)\n"
               "  --saturation-s S      each tallyd saturation run: 3 (quick: 2) (default 10; quick 5)\n"
               "  --latency-s S         each of 10, 100 and 1000 readings/s (default 30; quick 6)\n"
               "  --latency-rates LIST  readings/s for the latency runs (default 10,100,1000)\n"
               "  --idle-s S            idle CPU and wake-ups (default 60; quick 10)\n"
               "  --disk-s S            20 readings/s, each of sync normal and full (default 60; quick 15)\n"
               "  --backlog N           records buffered while the broker is down (default 1000000; quick 50000)\n"
               "  --backlog-rate R      readings/s while buffering them (default 50000; 0 = as fast as possible)\n"
               "  --burst N             readings written at once, as fast as possible (default 100000; quick 20000)\n"
               "  --startup-runs N      fresh starts timed to the first published record (default 5; quick 3)\n"
               "  --no-backlog-restart  skip restarting tallyd on a copy of the backlog (start-up with a backlog)\n"
               "  --only LIST           comma-separated phases: latency,idle,throughput,disk,startup,burst,backlog\n"
               "  --log-level L         tallyd's log level (default info)\n"
               "  --timeout-s S         give up after S seconds (default 1800)\n"
               "  --commit TEXT         the commit tallyd was built from (default: git describe of this tree)\n"
               "  --keep                keep the work directory\n");
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  // --quick first, so explicit values given with it win.
  for (const auto& a : args)
    if (a == "--quick") {
      o.quick = true;
      o.ceiling_s = 5;
      o.saturation_s = 5;
      o.latency_s = 6;
      o.idle_s = 10;
      o.disk_s = 15;
      o.backlog = 50'000;
      o.burst = 20'000;
      o.startup_runs = 3;
      o.timeout_s = 600;
    }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "tally-bench: %s needs a value\n", a.c_str());
        std::exit(64);
      }
      return args[++i];
    };
    if (a == "--quick") {
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (a == "--tallyd") {
      o.tallyd = value();
    } else if (a == "--mosquitto") {
      o.mosquitto = value();
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--work-dir") {
      o.work_dir = value();
    } else if (a == "--devices") {
      o.devices = std::max(1, std::stoi(value()));
    } else if (a == "--ceiling-s") {
      o.ceiling_s = std::stod(value());
    } else if (a == "--saturation-s") {
      o.saturation_s = std::stod(value());
    } else if (a == "--latency-s") {
      o.latency_s = std::stod(value());
    } else if (a == "--idle-s") {
      o.idle_s = std::stod(value());
    } else if (a == "--disk-s") {
      o.disk_s = std::stod(value());
    } else if (a == "--backlog") {
      o.backlog = std::max<std::int64_t>(1000, std::stoll(value()));
    } else if (a == "--latency-rates") {
      o.latency_rates.clear();
      std::stringstream list(value());
      std::string r;
      while (std::getline(list, r, ',')) o.latency_rates.push_back(std::stod(r));
    } else if (a == "--backlog-rate") {
      o.backlog_rate = std::stod(value());
    } else if (a == "--burst") {
      o.burst = std::max<std::int64_t>(1000, std::stoll(value()));
    } else if (a == "--startup-runs") {
      o.startup_runs = std::max(1, std::stoi(value()));
    } else if (a == "--no-backlog-restart") {
      o.backlog_restart = false;
    } else if (a == "--only") {
      std::stringstream list(value());
      std::string p;
      while (std::getline(list, p, ',')) {
        if (std::find(kPhases.begin(), kPhases.end(), p) == kPhases.end()) {
          std::fprintf(stderr, "tally-bench: unknown phase '%s'\n", p.c_str());
          std::exit(64);
        }
        o.only.insert(p);
      }
    } else if (a == "--log-level") {
      o.log_level = value();
    } else if (a == "--timeout-s") {
      o.timeout_s = std::stod(value());
    } else if (a == "--commit") {
      o.commit = value();
    } else if (a == "--keep") {
      o.keep = true;
    } else {
      std::fprintf(stderr, "tally-bench: unknown argument '%s'\n", a.c_str());
      usage(stderr);
      std::exit(64);
    }
  }
  return o;
}

void say(const char* fmt, auto... args) {
  std::fprintf(stderr, "[%7.1fs] ", static_cast<double>(now_ns()) / 1e9);
  std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
}

double r2(double v) { return std::round(v * 100) / 100; }
double r3(double v) { return std::round(v * 1000) / 1000; }

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

// ---------------------------------------------------------------- a tallyd instance

struct Instance {
  std::string station, dir, buffer;
  std::vector<std::unique_ptr<Pty>> ptys;
  std::unique_ptr<Child> child;
  std::vector<int> masters() const {
    std::vector<int> m;
    for (const auto& p : ptys) m.push_back(p->master());
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

std::int64_t Bench::capacity() const {
  // Counters for every phase: latency (1110/s), throughput (ceiling x2 budget + saturation offered), disk,
  // startup trickles, backlog.
  std::int64_t c = 0;
  double rates = 0;
  for (double r : opt_.latency_rates) rates += r;
  c += static_cast<std::int64_t>(rates * opt_.latency_s) + 1000;
  c += static_cast<std::int64_t>(4 * (opt_.ceiling_s * 60'000 + 1000));
  c += static_cast<std::int64_t>(3 * (opt_.saturation_s * 60'000 + 1000));
  c += opt_.burst + 1000;
  c += static_cast<std::int64_t>(2 * 20 * opt_.disk_s) + 1000;
  c += static_cast<std::int64_t>(opt_.startup_runs + 1) * 20'000;
  c += opt_.backlog + 1000;
  return c;
}

std::unique_ptr<Instance> Bench::make_instance(const std::string& station, const std::string& sync, double max_mb,
                                               const std::string& buffer) {
  auto in = std::make_unique<Instance>();
  in->station = station;
  in->dir = work_ + "/" + std::to_string(++instance_no_) + "-" + station;
  fs::create_directories(in->dir);
  in->buffer = buffer.empty() ? in->dir + "/buffer.db" : buffer;
  std::ostringstream c;
  c << "# generated by tally-bench\n[station]\nid = \"" << station << "\"\nprefix = \"tally\"\nmode = \"process\"\n\n"
    << "[mqtt]\nurl = \"" << broker_->url() << "\"\n\n"
    << "[buffer]\npath = \"" << in->buffer << "\"\nmax_mb = " << max_mb << "\nsync = \"" << sync << "\"\n";
  for (int d = 0; d < opt_.devices; ++d) {
    const std::string link = in->dir + "/tty" + std::to_string(d);
    in->ptys.push_back(std::make_unique<Pty>(link));
    c << "\n[[devices]]\nname = \"d" << d << "\"\ndriver = \"serial-line\"\nport = \"" << link
      << "\"\nbaud = 115200\npattern = 'T=([-0-9.]+)'\nquantity = \"temperature\"\nunit = \"degC\"\n";
  }
  write_text(in->config(), c.str());
  return in;
}

void Bench::start(Instance& in) {
  in.child = std::make_unique<Child>(
      std::vector<std::string>{opt_.tallyd, "--config", in.config(), "--log-level", opt_.log_level}, in.log());
}

void Bench::wait_ready(Instance& in, double timeout_s) {
  const auto t0 = in.child->started_ns();
  if (!rec_->wait_event(in.station, "daemon.started", t0, 1, timeout_s) ||
      !rec_->wait_event(in.station, "device.online", t0, opt_.devices, timeout_s))
    throw std::runtime_error("tallyd (" + in.station + ") not ready after " + std::to_string(timeout_s) +
                             " s; see " + in.log());
}

void Bench::stop(Instance& in) {
  if (in.child) in.child->stop();
}

// ---------------------------------------------------------------- machine

void Bench::machine_info() {
  json m;
  std::string model;
  {
    std::istringstream cpu(read_text("/proc/cpuinfo"));
    std::string line;
    while (std::getline(cpu, line))
      if (line.rfind("model name", 0) == 0) {
        model = line.substr(line.find(':') + 2);
        break;
      }
  }
  utsname u{};
  ::uname(&u);
  std::int64_t mem_kb = 0;
  {
    std::istringstream in(read_text("/proc/meminfo"));
    std::string key;
    in >> key >> mem_kb;
  }
  struct statfs sf{};
  ::statfs(work_.c_str(), &sf);
  m["cpu"] = model;
  m["cores"] = std::thread::hardware_concurrency();
  m["memory_gib"] = r2(static_cast<double>(mem_kb) / 1024 / 1024);
  m["kernel"] = std::string(u.sysname) + " " + u.release + " " + u.machine;
  m["work_dir_fs_magic"] = run_capture("stat -f -c %T " + work_);
  m["os"] = run_capture(". /etc/os-release 2>/dev/null && echo \"$PRETTY_NAME\"");
  out_["machine"] = m;
  json v;
  v["tallyd"] = run_capture(opt_.tallyd + " --version 2>&1");
  v["tally_commit"] = !opt_.commit.empty() ? opt_.commit
                                            : run_capture("git -C " TALLY_SOURCE_DIR " describe --always --dirty 2>/dev/null");
  v["mosquitto"] = run_capture(opt_.mosquitto + " -h 2>&1 | head -1");
  v["paho_mqtt_cpp"] = run_capture("dpkg-query -W -f '${Version}' libpaho-mqttpp3-1 2>/dev/null");
  v["paho_mqtt_c"] = run_capture("dpkg-query -W -f '${Version}' libpaho-mqtt1.3 2>/dev/null");
  v["sqlite"] = sqlite3_libversion();
  out_["versions"] = v;
  if (static_cast<unsigned long>(sf.f_type) == 0x01021994UL)
    say("warning: %s is tmpfs: /proc/PID/io write_bytes will not count the buffer's writes", work_.c_str());
}

// ---------------------------------------------------------------- load

// CPU of the processes involved and of the whole machine over a window: "other" is what else ran meanwhile (on
// a shared machine, someone's build), which the figures should be read against.
struct LoadSample {
  std::int64_t t_ns = 0;
  double tallyd = 0, broker = 0, self = 0, busy = 0;
  CpuSample tallyd_detail;
};

LoadSample load_sample(pid_t tallyd, pid_t broker) {
  LoadSample l;
  l.t_ns = now_ns();
  if (tallyd > 0) {
    l.tallyd_detail = cpu_sample(tallyd);
    l.tallyd = l.tallyd_detail.sched_s;
  }
  if (broker > 0) l.broker = cpu_sample(broker).sched_s;
  l.self = cpu_sample(::getpid()).sched_s;
  l.busy = machine_busy_s();
  return l;
}

json load_json(const LoadSample& a, const LoadSample& b) {
  const double w = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  json j;
  j["tallyd_cpu_percent"] = r2((b.tallyd - a.tallyd) / w * 100);
  j["broker_cpu_percent"] = r2((b.broker - a.broker) / w * 100);
  j["bench_cpu_percent"] = r2((b.self - a.self) / w * 100);
  j["other_cpu_percent"] =
      r2(std::max(0.0, (b.busy - a.busy) - (b.tallyd - a.tallyd) - (b.broker - a.broker) - (b.self - a.self)) / w * 100);
  return j;
}

// ---------------------------------------------------------------- latency, steady memory, CPU per record

void Bench::phase_latency_memory(Instance& in) {
  Feeder feeder(*rec_, in.masters());
  json rows = json::array();
  std::int64_t sampled_max_rss = 0;
  for (double rate : opt_.latency_rates) {
    say("latency: %.0f readings/s for %.0f s", rate, opt_.latency_s);
    std::atomic<bool> done{false};
    std::int64_t max_rss = 0;
    std::thread sampler([&] {
      while (!done.load()) {
        max_rss = std::max(max_rss, mem_sample(in.pid()).vm_rss_kb);
        sleep_for_s(0.1);
      }
    });
    const auto c0 = cpu_sample(in.pid());
    const auto l0 = load_sample(in.pid(), broker_->pid());
    const auto t0 = now_ns();
    const Range r = feeder.paced(rate, opt_.latency_s);
    const auto l1 = load_sample(in.pid(), broker_->pid());
    const bool all = rec_->wait_all(r, 15);
    const double elapsed = seconds_since(t0);
    const auto c1 = cpu_sample(in.pid());
    done = true;
    sampler.join();
    sampled_max_rss = std::max(sampled_max_rss, max_rss);
    const auto s = rec_->latency(r);
    const auto payload = rec_->payload_bytes(r);
    if (s.count > 0) payload_size_ = static_cast<std::size_t>(std::llround(static_cast<double>(payload) / static_cast<double>(s.count)));
    json row;
    row["rate_per_s"] = rate;
    row["readings"] = r.size();
    row["delivered"] = s.count;
    row["lost"] = s.lost;
    row["p50_ms"] = r3(s.p50_ms);
    row["p90_ms"] = r3(s.p90_ms);
    row["p99_ms"] = r3(s.p99_ms);
    row["p99_9_ms"] = r3(s.p999_ms);
    row["max_ms"] = r3(s.max_ms);
    row["mean_ms"] = r3(s.mean_ms);
    row["cpu_s"] = r3(c1.cpu_s() - c0.cpu_s());
    row["cpu_sched_s"] = r3(c1.sched_s - c0.sched_s);
    row["cpu_percent_of_one_core"] = r2((c1.sched_s - c0.sched_s) / elapsed * 100);
    row["cpu_ms_per_1000_records"] = r2((c1.sched_s - c0.sched_s) / static_cast<double>(std::max<std::int64_t>(s.count, 1)) * 1e6);
    row["max_vm_rss_kb"] = max_rss;
    row["other_cpu_percent"] = load_json(l0, l1)["other_cpu_percent"];
    if (row["other_cpu_percent"].get<double>() > 25)
      warnings_.push_back("latency at " + std::to_string(static_cast<int>(rate)) +
                          "/s: something else used " + row["other_cpu_percent"].dump() + " % of a core meanwhile");
    if (!all) row["note"] = "not every reading arrived within 15 s of the end";
    rows.push_back(row);
    say("  p50 %.2f ms  p99 %.2f ms  max %.2f ms  lost %lld (other load %.0f %%)", s.p50_ms, s.p99_ms, s.max_ms,
        static_cast<long long>(s.lost), row["other_cpu_percent"].get<double>());
  }
  out_["latency"] = rows;
  out_["payload_bytes_avg"] = payload_size_;

  sleep_for_s(1);
  const auto m = mem_sample(in.pid());
  json mem;
  mem["devices"] = opt_.devices;
  mem["vm_hwm_kb"] = m.vm_hwm_kb;
  mem["vm_rss_kb"] = m.vm_rss_kb;
  mem["rss_anon_kb"] = m.rss_anon_kb;
  mem["rss_file_kb"] = m.rss_file_kb;
  mem["rss_shmem_kb"] = m.rss_shmem_kb;
  mem["pss_kb"] = m.pss_kb;
  mem["pss_anon_kb"] = m.pss_anon_kb;
  mem["pss_file_kb"] = m.pss_file_kb;
  mem["max_sampled_vm_rss_kb"] = sampled_max_rss;
  mem["threads"] = cpu_sample(in.pid()).per_thread.size();
  mem["note"] = "after start-up and the 10, 100 and 1000 readings/s runs; VmHWM is the peak since start";
  out_["memory_steady"] = mem;
  say("memory: VmHWM %lld kB, VmRSS %lld kB (anon %lld, file %lld, shmem %lld), PSS %lld kB",
      static_cast<long long>(m.vm_hwm_kb), static_cast<long long>(m.vm_rss_kb), static_cast<long long>(m.rss_anon_kb),
      static_cast<long long>(m.rss_file_kb), static_cast<long long>(m.rss_shmem_kb), static_cast<long long>(m.pss_kb));
}

// ---------------------------------------------------------------- idle

void Bench::phase_idle(Instance& in) {
  say("idle: %.0f s with the devices open and nothing arriving", opt_.idle_s);
  sleep_for_s(3);  // let the last acknowledgements commit
  const auto c0 = cpu_sample(in.pid());
  const auto io0 = io_sample(in.pid());
  const auto l0 = load_sample(in.pid(), broker_->pid());
  const auto t0 = now_ns();
  sleep_for_s(opt_.idle_s);
  const auto l1 = load_sample(in.pid(), broker_->pid());
  const double elapsed = seconds_since(t0);
  const auto c1 = cpu_sample(in.pid());
  const auto io1 = io_sample(in.pid());
  json idle;
  idle["duration_s"] = r2(elapsed);
  idle["cpu_s"] = r3(c1.cpu_s() - c0.cpu_s());
  idle["cpu_sched_s"] = r3(c1.sched_s - c0.sched_s);
  idle["cpu_percent_of_one_core"] = r3((c1.sched_s - c0.sched_s) / elapsed * 100);
  const auto vol = c1.voluntary - c0.voluntary, invol = c1.nonvoluntary - c0.nonvoluntary;
  idle["context_switches"] = vol + invol;
  idle["wakeups_per_s"] = r2(static_cast<double>(vol + invol) / elapsed);
  idle["voluntary_per_s"] = r2(static_cast<double>(vol) / elapsed);
  json threads = json::object();
  for (const auto& [name, v] : c1.per_thread) {
    const auto it = c0.per_thread.find(name);
    const auto before = it == c0.per_thread.end() ? std::pair<std::int64_t, std::int64_t>{0, 0} : it->second;
    const double cpu_before = c0.per_thread_cpu_s.count(name) ? c0.per_thread_cpu_s.at(name) : 0.0;
    json t;
    t["wakeups_per_s"] = r3(static_cast<double>(v.first - before.first + v.second - before.second) / elapsed);
    t["cpu_ms"] = r3((c1.per_thread_cpu_s.at(name) - cpu_before) * 1000);
    threads[name] = t;
  }
  idle["threads"] = threads;
  idle["wchar_bytes"] = io1.wchar - io0.wchar;
  idle["write_bytes"] = io1.write_bytes - io0.write_bytes;
  idle["other_cpu_percent"] = load_json(l0, l1)["other_cpu_percent"];
  out_["idle"] = idle;
  say("  cpu %.3f%% of one core, %.2f wake-ups/s", (c1.sched_s - c0.sched_s) / elapsed * 100,
      static_cast<double>(vol + invol) / elapsed);
}

// ---------------------------------------------------------------- throughput: ceiling and tallyd at saturation

void Bench::phase_throughput(Instance& in) {
  const std::size_t size = payload_size_ > 0 ? payload_size_ : 118;
  const int rounds = opt_.quick ? 2 : 3;
  constexpr std::int64_t kQueued = 2000;  // readings kept fed but undelivered: tallyd always has work
  json ceilings = json::array(), runs = json::array();
  std::vector<double> c_rates, t_rates;
  double cpu_per_1000_sum = 0;

  auto ceiling_run = [&]() {
    say("ceiling %zu: plain Paho QoS 1 publisher, window 20, %zu-byte payloads, %.0f s", c_rates.size() + 1, size,
        opt_.ceiling_s);
    const double warm = std::min(1.0, opt_.ceiling_s / 4);
    CeilingResult res;
    const auto t_launch = now_ns();
    // Same topic length as tallyd's "tally/bench-1/readings/d0".
    std::thread pub([&] {
      res = ceiling_publish(broker_->url(), *rec_, "tally/bench-c/readings/d0", "bench-c", size, opt_.ceiling_s);
    });
    sleep_until_ns(t_launch + static_cast<std::int64_t>(warm * 1e9));
    const auto l0 = load_sample(-1, broker_->pid());
    sleep_until_ns(t_launch + static_cast<std::int64_t>(opt_.ceiling_s * 1e9));
    const auto l1 = load_sample(-1, broker_->pid());
    pub.join();
    rec_->wait_all(res.range, 15);
    const auto n = rec_->arrived_between(res.range, res.t0_ns + static_cast<std::int64_t>(warm * 1e9),
                                         res.t0_ns + static_cast<std::int64_t>(opt_.ceiling_s * 1e9));
    const double rate = static_cast<double>(n) / (opt_.ceiling_s - warm);
    json c = load_json(l0, l1);
    c.erase("tallyd_cpu_percent");
    c["published"] = res.published;
    c["delivered"] = rec_->arrived(res.range);
    c["delivered_per_s"] = std::round(rate);
    c["window_s"] = r2(opt_.ceiling_s - warm);
    ceilings.push_back(c);
    c_rates.push_back(rate);
    say("  %.0f records/s delivered (other load %.0f %%)", rate, c["other_cpu_percent"].get<double>());
  };

  auto tallyd_run = [&]() {
    say("saturation %zu: tallyd with %lld readings always queued, %.0f s", t_rates.size() + 1,
        static_cast<long long>(kQueued), opt_.saturation_s);
    Feeder feeder(*rec_, in.masters());
    const double warm = std::min(1.0, opt_.saturation_s / 4);
    Range r;
    const auto t0 = now_ns();
    std::thread feed([&] { r = feeder.saturate(opt_.saturation_s, kQueued); });
    sleep_until_ns(t0 + static_cast<std::int64_t>(warm * 1e9));
    const auto l0 = load_sample(in.pid(), broker_->pid());
    std::int64_t max_rss = 0;
    while (seconds_since(t0) < opt_.saturation_s) {
      max_rss = std::max(max_rss, mem_sample(in.pid()).vm_rss_kb);
      sleep_for_s(0.1);
    }
    const auto l1 = load_sample(in.pid(), broker_->pid());
    feed.join();
    const double window = static_cast<double>(l1.t_ns - l0.t_ns) / 1e9;
    const auto n = rec_->arrived_between(r, l0.t_ns, l1.t_ns);
    const double rate = static_cast<double>(n) / window;
    const bool all = rec_->wait_all(r, 60);
    json t = load_json(l0, l1);
    t["fed"] = r.size();
    t["delivered_per_s"] = std::round(rate);
    t["window_s"] = r2(window);
    t["all_delivered"] = all;
    const double per_1000 = (l1.tallyd - l0.tallyd) / static_cast<double>(std::max<std::int64_t>(n, 1)) * 1e6;
    t["tallyd_cpu_ms_per_1000_records"] = r2(per_1000);
    json threads = json::object();
    for (const auto& [name, cpu] : l1.tallyd_detail.per_thread_cpu_s) {
      const double before =
          l0.tallyd_detail.per_thread_cpu_s.count(name) ? l0.tallyd_detail.per_thread_cpu_s.at(name) : 0.0;
      threads[name.substr(0, name.find('/'))] = r2((cpu - before) / window * 100);
    }
    t["tallyd_thread_cpu_percent"] = threads;
    t["max_vm_rss_kb"] = max_rss;
    runs.push_back(t);
    t_rates.push_back(rate);
    cpu_per_1000_sum += per_1000;
    say("  %.0f records/s delivered; tallyd %.0f %% CPU, %.1f ms per 1,000 (other load %.0f %%)", rate,
        t["tallyd_cpu_percent"].get<double>(), per_1000, t["other_cpu_percent"].get<double>());
  };

  // Interleaved, so that a change in the machine's load hits both sides: C T C T ... C.
  for (int i = 0; i < rounds; ++i) {
    ceiling_run();
    tallyd_run();
  }
  ceiling_run();
  // A round is clean when nothing else used more than a quarter of a core during its three runs; the ratio is the
  // median of the clean rounds when there are any.
  constexpr double kDisturbed = 25;
  std::vector<double> ratios, clean_ratios, clean_t, clean_c;
  json disturbed = json::array();
  for (int i = 0; i < rounds; ++i) {
    const double r = t_rates[i] / ((c_rates[i] + c_rates[i + 1]) / 2);
    ratios.push_back(r);
    const double other = std::max({ceilings[i]["other_cpu_percent"].get<double>(),
                                   ceilings[i + 1]["other_cpu_percent"].get<double>(),
                                   runs[i]["other_cpu_percent"].get<double>()});
    if (other <= kDisturbed) {
      clean_ratios.push_back(r);
      clean_t.push_back(t_rates[i]);
      clean_c.push_back((c_rates[i] + c_rates[i + 1]) / 2);
    } else {
      disturbed.push_back(i + 1);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  const bool use_clean = !clean_ratios.empty();
  if (!disturbed.empty())
    warnings_.push_back("throughput: rounds " + disturbed.dump() + " ran while something else used more than " +
                        std::to_string(static_cast<int>(kDisturbed)) + " % of a core" +
                        (use_clean ? "; the ratio uses the other rounds" : "; no clean round: the ratio is unreliable"));
  steady_rate_ = median(use_clean ? clean_t : t_rates);
  json th;
  th["payload_bytes"] = size;
  th["window"] = 20;
  th["rounds"] = rounds;
  th["ceiling_runs"] = ceilings;
  th["tallyd_runs"] = runs;
  th["ceiling_per_s"] = std::round(median(use_clean ? clean_c : c_rates));
  th["tallyd_per_s"] = std::round(steady_rate_);
  th["ratios"] = ratios;
  th["disturbed_rounds"] = disturbed;
  th["ratio"] = r3(median(use_clean ? clean_ratios : ratios));
  th["tallyd_cpu_ms_per_1000_records"] = r2(cpu_per_1000_sum / rounds);
  th["vm_hwm_kb_after"] = mem_sample(in.pid()).vm_hwm_kb;
  th["method"] = "ceiling and tallyd alternate (C T C T ... C); each tallyd run is compared with the mean of the "
                 "ceiling runs either side; the ratio is the median over the rounds in which nothing else used more "
                 "than 25 % of a core (over all rounds if none)";
  out_["throughput"] = th;
  say("  ratio %.2f (tallyd %.0f / ceiling %.0f records/s)", th["ratio"].get<double>(), steady_rate_,
      th["ceiling_per_s"].get<double>());
}

// ---------------------------------------------------------------- disk writes at 20 readings/s

void Bench::phase_disk() {
  json rows = json::array();
  for (const std::string sync : {"normal", "full"}) {
    say("disk: 20 readings/s for %.0f s, sync %s", opt_.disk_s, sync.c_str());
    auto in = make_instance("bench-disk", sync, 256);
    start(*in);
    wait_ready(*in);
    sleep_for_s(2);
    Feeder feeder(*rec_, in->masters());
    const auto io0 = io_sample(in->pid());
    const auto c0 = cpu_sample(in->pid());
    const auto t0 = now_ns();
    const Range r = feeder.paced(20, opt_.disk_s);
    rec_->wait_all(r, 10);
    sleep_for_s(1.5);  // the last acknowledgements are committed in the loop iteration that receives them
    const double elapsed = seconds_since(t0);
    const auto io1 = io_sample(in->pid());
    const auto c1 = cpu_sample(in->pid());
    const auto delivered = rec_->arrived(r);
    const auto payload = rec_->payload_bytes(r);
    const double wb = static_cast<double>(io1.write_bytes - io0.write_bytes);
    const double wc = static_cast<double>(io1.wchar - io0.wchar);
    std::error_code ec;
    json row;
    row["sync"] = sync;
    row["duration_s"] = r2(elapsed);
    row["records"] = delivered;
    row["payload_bytes"] = payload;
    row["payload_bytes_per_record"] = r2(static_cast<double>(payload) / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_bytes"] = io1.write_bytes - io0.write_bytes;
    row["write_bytes_per_record"] = std::round(wb / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_bytes_per_payload_byte"] = r2(wb / static_cast<double>(std::max<std::int64_t>(payload, 1)));
    row["write_bytes_per_s"] = std::round(wb / elapsed);
    row["wchar_bytes"] = io1.wchar - io0.wchar;
    row["wchar_per_record"] = std::round(wc / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_syscalls"] = io1.syscw - io0.syscw;
    row["write_syscalls_per_record"] = r2(static_cast<double>(io1.syscw - io0.syscw) / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["cancelled_write_bytes"] = io1.cancelled_write_bytes - io0.cancelled_write_bytes;
    row["cpu_percent_of_one_core"] = r3((c1.sched_s - c0.sched_s) / elapsed * 100);
    row["wakeups_per_s"] = r2(static_cast<double>(c1.voluntary + c1.nonvoluntary - c0.voluntary - c0.nonvoluntary) / elapsed);
    row["wal_file_bytes_at_end"] = fs::exists(in->buffer + "-wal", ec) ? static_cast<std::int64_t>(fs::file_size(in->buffer + "-wal", ec)) : 0;
    row["db_file_bytes_at_end"] = static_cast<std::int64_t>(fs::file_size(in->buffer, ec));
    rows.push_back(row);
    say("  %.0f bytes written per record, %.2f per payload byte (wchar %.0f per record)",
        wb / static_cast<double>(std::max<std::int64_t>(delivered, 1)), wb / static_cast<double>(std::max<std::int64_t>(payload, 1)),
        wc / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    stop(*in);
  }
  out_["disk"] = rows;

  // The same write pattern replayed outside tallyd, and the alternatives (tools/bench/sqlite_writes.cpp).
  if (!opt_.sqlite_experiment.empty() && ::access(opt_.sqlite_experiment.c_str(), X_OK) == 0) {
    const auto payload = rows.empty() ? 155.0 : rows[0]["payload_bytes_per_record"].get<double>();
    const std::string file = work_ + "/sqlite-writes.json";
    say("disk: replaying the buffer's writes with other commit policies (%s)", opt_.sqlite_experiment.c_str());
    const std::string cmd = opt_.sqlite_experiment + " --records " + (opt_.quick ? "4000" : "12000") + " --payload " +
                            std::to_string(std::lround(payload)) + " --dir " + work_ + " --out " + file + " >&2";
    if (std::system(cmd.c_str()) == 0) {
      try {
        out_["disk_alternatives"] = json::parse(read_text(file));
      } catch (const std::exception& e) {
        say("  cannot read %s: %s", file.c_str(), e.what());
      }
    }
  }
}

// ---------------------------------------------------------------- start-up

void Bench::phase_startup() {
  json runs = json::array();
  std::vector<double> first_record, first_reading, shutdown;
  for (int k = 0; k < opt_.startup_runs; ++k) {
    auto in = make_instance("bench-start", "normal", 256);
    Feeder feeder(*rec_, in->masters());
    std::atomic<bool> stop_trickle{false};
    const Range r{rec_->take(20'000), 0};
    const Range lines{r.begin, r.begin + 20'000};
    start(*in);
    const auto t0 = in->child->started_ns();
    std::thread trickle([&] { feeder.trickle(lines, 0.002, stop_trickle); });
    const bool ok = rec_->wait_event(in->station, "daemon.started", t0, 1, 20);
    std::int64_t first = 0;
    const auto wait_end = now_ns() + 20'000'000'000LL;
    while (first == 0 && now_ns() < wait_end) {
      first = rec_->first_last_arrival(lines).first;
      if (first == 0) sleep_for_s(0.001);
    }
    stop_trickle = true;
    trickle.join();
    json run;
    if (ok) {
      const double s = static_cast<double>(*rec_->event_after(in->station, "daemon.started", t0, 1) - t0) / 1e9;
      run["first_record_s"] = r3(s);
      first_record.push_back(s);
    }
    if (first != 0) {
      const double s = static_cast<double>(first - t0) / 1e9;
      run["first_reading_s"] = r3(s);
      first_reading.push_back(s);
    }
    const double down = in->child->stop();
    run["shutdown_s"] = r3(down);
    shutdown.push_back(down);
    runs.push_back(run);
    say("start-up %d: first record %.3f s, first reading %.3f s, SIGTERM to exit %.3f s", k + 1,
        first_record.empty() ? -1.0 : first_record.back(), first_reading.empty() ? -1.0 : first_reading.back(), down);
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return -1.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto worst = [](const std::vector<double>& v) { return v.empty() ? -1.0 : *std::max_element(v.begin(), v.end()); };
  json s;
  s["runs"] = runs;
  s["first_record_median_s"] = r3(median(first_record));
  s["first_record_max_s"] = r3(worst(first_record));
  s["first_reading_median_s"] = r3(median(first_reading));
  s["shutdown_median_s"] = r3(median(shutdown));
  s["note"] = "fresh buffer each run; from fork() to the subscriber receiving daemon.started (the first record); a "
              "line is written to device d0 every 2 ms from the start (lines queued before the port opens are "
              "discarded by the driver)";
  out_["startup"] = s;
}

// ---------------------------------------------------------------- burst

// Everything at once: how much memory does a flood of input cost, and how fast is it taken in?
void Bench::phase_burst() {
  auto in = make_instance("bench-burst", "normal", 1024);
  start(*in);
  wait_ready(*in);
  sleep_for_s(1);
  say("burst: %lld readings written as fast as the devices take them", static_cast<long long>(opt_.burst));
  Feeder feeder(*rec_, in->masters());
  const auto m0 = mem_sample(in->pid());
  const auto io0 = io_sample(in->pid());
  const auto t0 = now_ns();
  const Range r = feeder.flood(opt_.burst);
  for (int zeros = 0; zeros < 2;) {
    sleep_for_s(0.01);
    bool empty = true;
    for (const auto& p : in->ptys) empty = empty && p->queued() == 0;
    zeros = empty ? zeros + 1 : 0;
  }
  const double read_s = seconds_since(t0) - 0.02;
  const bool all = rec_->wait_all(r, static_cast<double>(r.size()) / 500 + 60);
  const auto [first, last] = rec_->first_last_arrival(r);
  const auto m1 = mem_sample(in->pid());
  const auto io1 = io_sample(in->pid());
  json b;
  b["readings"] = r.size();
  b["read_s"] = r3(read_s);
  b["read_per_s"] = std::round(static_cast<double>(r.size()) / read_s);
  b["delivered_s"] = r2(static_cast<double>(last - t0) / 1e9);
  b["delivered_per_s"] = std::round(static_cast<double>(r.size()) / (static_cast<double>(last - t0) / 1e9));
  b["all_delivered"] = all;
  b["vm_rss_kb_before"] = m0.vm_rss_kb;
  b["vm_hwm_kb_after"] = m1.vm_hwm_kb;
  b["vm_rss_kb_after"] = m1.vm_rss_kb;
  b["rss_anon_kb_before"] = m0.rss_anon_kb;
  b["rss_anon_kb_after"] = m1.rss_anon_kb;
  b["write_syscalls"] = io1.syscw - io0.syscw;
  b["write_bytes_per_record"] = std::round(static_cast<double>(io1.write_bytes - io0.write_bytes) / static_cast<double>(r.size()));
  (void)first;
  out_["burst"] = b;
  say("  read in %.2f s, delivered after %.2f s; VmHWM %lld kB (RSS before %lld kB, anon %lld -> %lld kB)", read_s,
      static_cast<double>(last - t0) / 1e9, static_cast<long long>(m1.vm_hwm_kb), static_cast<long long>(m0.vm_rss_kb),
      static_cast<long long>(m0.rss_anon_kb), static_cast<long long>(m1.rss_anon_kb));
  stop(*in);
}

// ---------------------------------------------------------------- backlog

void Bench::phase_backlog() {
  const double max_mb = std::max(256.0, static_cast<double>(opt_.backlog) * 600 / 1e6 + 64);
  auto in = make_instance("bench-backlog", "normal", max_mb);
  start(*in);
  wait_ready(*in);
  sleep_for_s(1);
  say("backlog: broker stopped; buffering %lld records", static_cast<long long>(opt_.backlog));
  broker_->stop();
  sleep_for_s(1);
  Feeder feeder(*rec_, in->masters());
  const auto m_before = mem_sample(in->pid());
  const auto c0 = cpu_sample(in->pid());
  const auto io0 = io_sample(in->pid());
  const auto t_feed = now_ns();
  const Range r = opt_.backlog_rate > 0
                      ? feeder.paced(opt_.backlog_rate, static_cast<double>(opt_.backlog) / opt_.backlog_rate)
                      : feeder.flood(opt_.backlog);
  // Consumed by tallyd once every device's input queue is empty (twice in a row, 20 ms apart).
  for (int zeros = 0; zeros < 2;) {
    sleep_for_s(0.02);
    bool empty = true;
    for (const auto& p : in->ptys) empty = empty && p->queued() == 0;
    zeros = empty ? zeros + 1 : 0;
    if (seconds_since(t_feed) > 3600) throw std::runtime_error("backlog: tallyd does not read its devices");
  }
  const double ingest_s = seconds_since(t_feed) - 0.04;
  sleep_for_s(0.5);
  const auto c1 = cpu_sample(in->pid());
  const auto io1 = io_sample(in->pid());
  const auto m_buffered = mem_sample(in->pid());
  std::int64_t rows = -1;
  {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(in->buffer.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM records WHERE kind = 0", -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW)
        rows = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
  }
  std::error_code ec;
  const auto db_bytes = static_cast<std::int64_t>(fs::file_size(in->buffer, ec));
  say("  ingested in %.1f s (%.0f readings/s offered, with the broker down); %lld readings in the buffer, %.0f MB", ingest_s,
      static_cast<double>(r.size()) / ingest_s, static_cast<long long>(rows), static_cast<double>(db_bytes) / 1e6);

  // Freeze tallyd while the broker and the recorder come back, so the recorder is subscribed before tallyd can
  // publish (mosquitto keeps nothing for a subscription that does not exist yet).
  in->child->signal(SIGSTOP);
  std::string copy;
  if (opt_.backlog_restart) {
    copy = in->dir + "/copy";
    fs::create_directories(copy);
    for (const std::string suffix : {"", "-wal"})
      if (fs::exists(in->buffer + suffix, ec)) fs::copy_file(in->buffer + suffix, copy + "/buffer.db" + suffix, fs::copy_options::overwrite_existing, ec);
  }
  const auto subs = rec_->subscriptions();
  broker_->start();
  if (!rec_->wait_subscribed(subs, 20)) throw std::runtime_error("backlog: the recorder did not resubscribe");
  reset_peak_rss(in->pid());
  const auto c2 = cpu_sample(in->pid());
  const auto t_broker = now_ns();
  in->child->signal(SIGCONT);
  say("  broker started; draining");
  std::atomic<bool> done{false};
  std::int64_t max_rss = 0;
  json series = json::array();
  std::thread sampler([&] {
    int k = 0;
    while (!done.load()) {
      const auto m = mem_sample(in->pid());
      max_rss = std::max(max_rss, m.vm_rss_kb);
      if (k++ % 10 == 0) series.push_back({r2(seconds_since(t_broker)), m.vm_rss_kb});
      sleep_for_s(0.1);
    }
  });
  const bool all = rec_->wait_all(r, static_cast<double>(r.size()) / 500 + 120);
  done = true;
  sampler.join();
  const auto c3 = cpu_sample(in->pid());
  const auto m_drain = mem_sample(in->pid());
  const auto [first, last] = rec_->first_last_arrival(r);
  const auto delivered = rec_->arrived(r);
  const double reconnect_s = static_cast<double>(first - t_broker) / 1e9;
  const double drain_s = static_cast<double>(last - first) / 1e9;
  const double rate = static_cast<double>(delivered) / drain_s;
  json b;
  b["records"] = r.size();
  b["ingest_s"] = r2(ingest_s);
  b["ingest_per_s"] = std::round(static_cast<double>(r.size()) / ingest_s);
  b["ingest_tallyd_cpu_s"] = r2(c1.sched_s - c0.sched_s);
  b["ingest_write_bytes_per_record"] = std::round(static_cast<double>(io1.write_bytes - io0.write_bytes) / static_cast<double>(r.size()));
  b["readings_in_buffer"] = rows;
  b["db_file_bytes"] = db_bytes;
  b["vm_rss_kb_before_feed"] = m_before.vm_rss_kb;
  b["vm_rss_kb_buffered"] = m_buffered.vm_rss_kb;
  b["reconnect_s"] = r3(reconnect_s);
  b["drain_s"] = r2(drain_s);
  b["drain_per_s"] = std::round(rate);
  b["broker_start_to_last_s"] = r2(static_cast<double>(last - t_broker) / 1e9);
  b["delivered"] = delivered;
  b["all_delivered"] = all;
  b["drain_vm_hwm_kb"] = m_drain.vm_hwm_kb;
  b["drain_max_sampled_vm_rss_kb"] = max_rss;
  b["drain_vm_rss_kb_end"] = m_drain.vm_rss_kb;
  b["drain_rss_anon_kb_end"] = m_drain.rss_anon_kb;
  b["drain_rss_file_kb_end"] = m_drain.rss_file_kb;
  b["drain_rss_shmem_kb_end"] = m_drain.rss_shmem_kb;
  b["drain_tallyd_cpu_ms_per_1000_records"] = r2((c3.sched_s - c2.sched_s) / static_cast<double>(std::max<std::int64_t>(delivered, 1)) * 1e6);
  b["drain_tallyd_cpu_percent_of_one_core"] = r2((c3.sched_s - c2.sched_s) / std::max(drain_s + reconnect_s, 0.001) * 100);
  if (steady_rate_ > 0) {
    b["steady_per_s"] = std::round(steady_rate_);
    b["drain_vs_steady"] = r3(rate / steady_rate_);
  }
  b["rss_series_s_kb"] = series;
  say("  drained %lld in %.1f s (%.0f/s) after %.1f s to reconnect; peak RSS %lld kB", static_cast<long long>(delivered),
      drain_s, rate, reconnect_s, static_cast<long long>(m_drain.vm_hwm_kb));
  stop(*in);

  if (opt_.backlog_restart) {
    // Start-up with a backlog: a new tallyd on the copy taken before the broker came back.
    auto again = make_instance("bench-backlog", "normal", max_mb, copy + "/buffer.db");
    start(*again);
    const auto t0 = again->child->started_ns();
    std::optional<std::int64_t> first_record;
    const auto end = now_ns() + 120'000'000'000LL;
    while (!(first_record = rec_->first_record_after("bench-backlog", t0)) && now_ns() < end) sleep_for_s(0.005);
    const auto m = mem_sample(again->pid());
    if (first_record) {
      b["restart_first_record_s"] = r3(static_cast<double>(*first_record - t0) / 1e9);
      say("  restart on the %lld-record copy: first record published after %.3f s", static_cast<long long>(rows),
          static_cast<double>(*first_record - t0) / 1e9);
    }
    b["restart_vm_hwm_kb"] = m.vm_hwm_kb;
    stop(*again);
  }
  out_["backlog"] = b;
}

// ---------------------------------------------------------------- targets and output

void Bench::summarise() {
  json targets = json::array();
  auto target = [&](const char* id, const char* text, const json& value, const char* unit, double limit, bool below,
                    const char* measured_how) {
    json t;
    t["id"] = id;
    t["target"] = text;
    if (value.is_number()) {
      const double v = value.get<double>();
      t["value"] = value;
      t["unit"] = unit;
      t["limit"] = limit;
      t["met"] = below ? v < limit : v >= limit;
    } else {
      t["value"] = nullptr;
      t["met"] = nullptr;
    }
    t["measured"] = measured_how;
    targets.push_back(t);
  };
  auto get = [&](std::initializer_list<const char*> path) -> json {
    const json* j = &out_;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return nullptr;
      j = &(*j)[k];
    }
    return *j;
  };
  target("throughput_ratio", "end-to-end throughput >= 80 % of a plain Paho QoS 1 publisher (same run)",
         get({"throughput", "ratio"}), "ratio", 0.8, false, "delivered records/s, tallyd at saturation / ceiling");
  json p99 = nullptr;
  if (out_.contains("latency"))
    for (const auto& row : out_["latency"])
      if (row["rate_per_s"] == 100.0) p99 = row["p99_ms"];
  target("latency_p99_100", "latency p99 < 20 ms at 100 readings/s", p99, "ms", 20, true,
         "pty write -> subscriber arrival");
  target("memory_steady", "peak resident memory < 10 MB in steady state with four devices",
         get({"memory_steady", "vm_hwm_kb"}).is_number() ? json(get({"memory_steady", "vm_hwm_kb"}).get<double>() / 1024) : json(nullptr),
         "MiB", 10, true, "VmHWM after the latency runs");
  const std::string drain_text = "peak resident memory < 16 MB while draining a 1,000,000-record backlog" +
                                 (opt_.backlog == 1'000'000 ? std::string() : " (this run: " + std::to_string(opt_.backlog) + " records)");
  target("memory_drain", drain_text.c_str(),
         get({"backlog", "drain_vm_hwm_kb"}).is_number() ? json(get({"backlog", "drain_vm_hwm_kb"}).get<double>() / 1024) : json(nullptr),
         "MiB", 16, true, "VmHWM, reset when the broker comes back");
  target("idle_cpu", "idle CPU < 0.1 % of one core", get({"idle", "cpu_percent_of_one_core"}), "%", 0.1, true,
         "schedstat run time of all threads over the idle period");
  target("idle_wakeups", "no periodic wake-ups faster than the devices' own poll intervals (serial-line: none; "
                         "judged as < 1 wake-up/s in total)",
         get({"idle", "wakeups_per_s"}), "/s", 1.0, true, "context switches of all threads over the idle period");
  json disk = nullptr;
  if (out_.contains("disk"))
    for (const auto& row : out_["disk"])
      if (row["sync"] == "normal") disk = row["write_bytes_per_payload_byte"];
  target("disk_writes", "< 3 bytes written to disk per payload byte at 20 readings/s, sync normal", disk, "B/B", 3,
         true, "/proc/PID/io write_bytes / payload bytes delivered");
  target("drain_rate", "backlog drain >= 80 % of steady-state throughput", get({"backlog", "drain_vs_steady"}),
         "ratio", 0.8, false, "records/s first to last arrival / saturation delivered records/s");
  out_["targets"] = targets;
  out_["warnings"] = warnings_;
}

void Bench::print_table() const {
  std::ostringstream t;
  auto v = [&](const json& j, std::initializer_list<const char*> path) -> std::string {
    const json* p = &j;
    for (const char* k : path) {
      if (!p->is_object() || !p->contains(k)) return "-";
      p = &(*p)[k];
    }
    if (p->is_number_float()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", p->get<double>());
      return buf;
    }
    return p->is_string() ? p->get<std::string>() : p->dump();
  };
  t << "\n## tally-bench (" << (opt_.quick ? "quick" : "full") << ") on " << v(out_, {"machine", "cpu"}) << ", "
    << v(out_, {"machine", "cores"}) << " cores\n\n| measure | value |\n|---|---|\n";
  if (out_.contains("throughput")) {
    const auto& th = out_["throughput"];
    t << "| ceiling: plain Paho QoS 1, window 20, " << v(th, {"payload_bytes"}) << " B payload (median of "
      << th["ceiling_runs"].size() << ") | " << v(th, {"ceiling_per_s"}) << " records/s |\n";
    t << "| tallyd at saturation (median of " << v(th, {"rounds"}) << ") | " << v(th, {"tallyd_per_s"})
      << " records/s |\n";
    t << "| ratio (median of rounds) | " << v(th, {"ratio"}) << " |\n";
    t << "| tallyd CPU per 1,000 records at saturation | " << v(th, {"tallyd_cpu_ms_per_1000_records"}) << " ms |\n";
  }
  if (out_.contains("latency"))
    for (const auto& row : out_["latency"])
      t << "| latency at " << v(row, {"rate_per_s"}) << " readings/s: p50 / p99 / max | " << v(row, {"p50_ms"})
        << " / " << v(row, {"p99_ms"}) << " / " << v(row, {"max_ms"}) << " ms (" << v(row, {"delivered"})
        << " readings, " << v(row, {"lost"}) << " lost) |\n";
  if (out_.contains("latency"))
    for (const auto& row : out_["latency"])
      if (row["rate_per_s"] == 1000.0)
        t << "| tallyd CPU per 1,000 records at 1,000 readings/s | " << v(row, {"cpu_ms_per_1000_records"}) << " ms ("
          << v(row, {"cpu_percent_of_one_core"}) << " % of a core) |\n";
  if (out_.contains("memory_steady"))
    t << "| memory, steady, " << v(out_, {"memory_steady", "devices"}) << " devices: VmHWM / VmRSS / PSS | "
      << v(out_, {"memory_steady", "vm_hwm_kb"}) << " / " << v(out_, {"memory_steady", "vm_rss_kb"}) << " / "
      << v(out_, {"memory_steady", "pss_kb"}) << " kB |\n";
  if (out_.contains("idle"))
    t << "| idle " << v(out_, {"idle", "duration_s"}) << " s: CPU / wake-ups | "
      << v(out_, {"idle", "cpu_percent_of_one_core"}) << " % of a core / " << v(out_, {"idle", "wakeups_per_s"})
      << " per s |\n";
  if (out_.contains("disk"))
    for (const auto& row : out_["disk"])
      t << "| disk at 20 readings/s, sync " << v(row, {"sync"}) << ": written per record / per payload byte | "
        << v(row, {"write_bytes_per_record"}) << " B / " << v(row, {"write_bytes_per_payload_byte"}) << " B |\n";
  if (out_.contains("backlog")) {
    const auto& b = out_["backlog"];
    t << "| backlog " << v(b, {"records"}) << ": ingest with broker down | " << v(b, {"ingest_per_s"})
      << " readings/s |\n";
    t << "| backlog: reconnect / drain time / drain rate | " << v(b, {"reconnect_s"}) << " s / " << v(b, {"drain_s"})
      << " s / " << v(b, {"drain_per_s"}) << " records/s (" << v(b, {"drain_vs_steady"}) << " of steady) |\n";
    t << "| backlog: peak memory while draining (VmHWM) | " << v(b, {"drain_vm_hwm_kb"}) << " kB |\n";
    if (b.contains("restart_first_record_s"))
      t << "| start-up with the backlog to the first record | " << v(b, {"restart_first_record_s"}) << " s |\n";
  }
  if (out_.contains("startup"))
    t << "| start-up to first published record (median / max) | " << v(out_, {"startup", "first_record_median_s"})
      << " / " << v(out_, {"startup", "first_record_max_s"}) << " s |\n";
  if (out_.contains("disk_alternatives")) {
    t << "\n| buffer write policy (replayed, 20 records/s) | page | sync | written B/record | B per payload B |\n"
      << "|---|---|---|---|---|\n";
    for (const auto& r : out_["disk_alternatives"]["results"])
      t << "| " << v(r, {"policy"}) << " | " << v(r, {"page_size"}) << " | " << v(r, {"sync"}) << " | "
        << v(r, {"write_bytes_per_record"}) << " | " << v(r, {"write_bytes_per_payload_byte"}) << " |\n";
  }
  t << "\n| target | value | met |\n|---|---|---|\n";
  if (out_.contains("targets"))
    for (const auto& g : out_["targets"]) {
      std::string val = g["value"].is_null() ? "not measured" : v(g, {"value"}) + " " + v(g, {"unit"});
      std::string met = g["met"].is_null() ? "-" : (g["met"].get<bool>() ? "met" : "NOT MET");
      t << "| " << v(g, {"target"}) << " | " << val << " | " << met << " |\n";
    }
  if (out_.contains("warnings"))
    for (const auto& w : out_["warnings"]) t << "\nwarning: " << w.get<std::string>() << "\n";
  std::cout << t.str() << std::flush;
}

int Bench::run() {
  const auto t_start = now_ns();
  if (opt_.work_dir.empty()) {
    char tmpl[] = "/var/tmp/tally-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    work_ = tmpl;
  } else {
    work_ = fs::absolute(opt_.work_dir).string();
    fs::create_directories(work_);
  }
  if (::access(opt_.tallyd.c_str(), X_OK) != 0) throw std::runtime_error("no tallyd at " + opt_.tallyd + " (--tallyd)");
  say("work dir %s; %s run", work_.c_str(), opt_.quick ? "quick" : "full");
  machine_info();
  json o;
  o["mode"] = opt_.quick ? "quick" : "full";
  o["devices"] = opt_.devices;
  o["ceiling_s"] = opt_.ceiling_s;
  o["saturation_s"] = opt_.saturation_s;
  o["latency_s"] = opt_.latency_s;
  o["idle_s"] = opt_.idle_s;
  o["disk_s"] = opt_.disk_s;
  o["backlog"] = opt_.backlog;
  o["backlog_rate"] = opt_.backlog_rate;
  o["burst"] = opt_.burst;
  o["startup_runs"] = opt_.startup_runs;
  out_["options"] = o;

  broker_ = std::make_unique<Broker>(opt_.mosquitto, work_);
  broker_->start();
  rec_ = std::make_unique<Recorder>(broker_->url(), capacity());
  say("mosquitto on %s; recorder subscribed", broker_->url().c_str());

  if (want("latency") || want("idle") || want("throughput")) {
    auto in = make_instance("bench-1", "normal", 1024);
    start(*in);
    wait_ready(*in);
    if (want("latency")) phase_latency_memory(*in);
    if (want("idle")) phase_idle(*in);
    if (want("throughput")) phase_throughput(*in);
    stop(*in);
  }
  if (want("disk")) phase_disk();
  if (want("startup")) phase_startup();
  if (want("burst")) phase_burst();
  if (want("backlog")) phase_backlog();

  out_["duration_s"] = std::round(seconds_since(t_start));
  out_["generated"] = run_capture("date -u +%Y-%m-%dT%H:%M:%SZ");
  summarise();
  broker_->stop();
  {
    std::ofstream f(opt_.out, std::ios::trunc);
    f << out_.dump(2) << "\n";
    if (!f) throw std::runtime_error("cannot write " + opt_.out);
  }
  print_table();
  say("wrote %s in %.0f s", opt_.out.c_str(), seconds_since(t_start));
  rec_.reset();
  if (!opt_.keep) {
    std::error_code ec;
    fs::remove_all(work_, ec);
  }
  return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  auto options = bench::parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  // A bounded run whatever happens: the children die with us (PR_SET_PDEATHSIG).
  const double limit = options.timeout_s;
  std::thread([limit] {
    bench::sleep_for_s(limit);
    std::fprintf(stderr, "tally-bench: gave up after %.0f s (--timeout-s)\n", limit);
    std::_Exit(3);
  }).detach();
  try {
    return bench::Bench(std::move(options)).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tally-bench: %s\n", e.what());
    return 1;
  }
}
