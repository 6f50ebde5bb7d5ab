// tally-bench: command-line options.
#include "bench.hpp"

namespace bench {

static void usage(std::FILE* to) {
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

}  // namespace bench
