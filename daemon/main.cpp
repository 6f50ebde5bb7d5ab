// tallyd: the shop-floor data collection daemon. See shared/PRODUCT.md for the contract and docs/ for the design.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "config/config_error.hpp"
#include "buffer/buffer_error.hpp"
#include "loop/event_loop.hpp"
#include "log/logging.hpp"
#include "loop/sd_notify.hpp"
#include "station/station.hpp"
#include "version.hpp"

namespace {

constexpr int exit_usage = 64;    // EX_USAGE
constexpr int exit_config = 78;   // EX_CONFIG
constexpr int exit_software = 70; // EX_SOFTWARE

struct Options {
  std::string config = "/etc/tally/tally.toml";
  bool check_only = false;
  spdlog::level::level_enum level = spdlog::level::info;
};

void usage(std::FILE* to) {
  std::fprintf(to,
               "usage: tallyd [--config PATH] [--check-config] [--log-level trace|debug|info|warn|error]\n"
               "       tallyd --version\n"
               "Reads the station's devices, buffers every record in SQLite and publishes it over MQTT.\n"
               "  --config PATH     configuration file (default /etc/tally/tally.toml)\n"
               "  --check-config    validate the configuration and exit: 0 valid, 78 invalid\n"
               "  --log-level L     log verbosity (default info); logs go to stderr\n");
}

// Returns an exit code when the program should exit now.
std::optional<int> parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 < argc) return std::string(argv[++i]);
      std::fprintf(stderr, "tallyd: %s needs a value\n", name);
      return std::nullopt;
    };
    if (arg == "--version") {
      std::printf("tallyd %s\n", tally::version);
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--check-config") {
      o.check_only = true;
    } else if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
      auto v = arg == "--config" ? value("--config") : arg.substr(9);
      if (!v) return exit_usage;
      o.config = *v;
    } else if (arg == "--log-level" || arg.rfind("--log-level=", 0) == 0) {
      auto v = arg == "--log-level" ? value("--log-level") : arg.substr(12);
      if (!v) return exit_usage;
      auto level = tally::parse_log_level(*v);
      if (!level) {
        std::fprintf(stderr, "tallyd: unknown log level '%s' (trace, debug, info, warn, error)\n", v->c_str());
        return exit_usage;
      }
      o.level = *level;
    } else {
      std::fprintf(stderr, "tallyd: unknown argument '%s'\n", arg.c_str());
      usage(stderr);
      return exit_usage;
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto code = parse_args(argc, argv, options)) return *code;

  // Block the signals we handle before any thread exists (Paho starts threads), so only our signalfd sees them.
  sigset_t handled;
  sigemptyset(&handled);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&handled, s);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error code, not a death

  tally::Config config;
  try {
    config = tally::load_config(options.config);
  } catch (const tally::config_error& e) {
    for (const auto& p : e.problems) std::fprintf(stderr, "%s\n", p.c_str());
    return exit_config;
  }
  for (const auto& w : config.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  if (options.check_only) {
    std::printf("%s: OK (%zu devices)\n", options.config.c_str(), config.devices.size());
    return 0;
  }

  tally::setup_logging(options.level);
  try {
    // STATUS= is what `systemctl status tallyd` shows under the unit's name.
    const std::string running_status = "READY=1\nSTATUS=Running station " + config.station.id + ", " +
                                       std::to_string(config.devices.size()) + " devices, broker " + config.mqtt.url;
    tally::sd_notify("STATUS=Opening the buffer " + config.buffer.path);
    tally::EventLoop loop;
    tally::Station station(std::move(config), loop);
    std::string stop_reason;
    loop.on_signals({SIGTERM, SIGINT, SIGHUP}, [&](int sig) {
      if (sig == SIGHUP) {
        tally::sd_notify("RELOADING=1\nSTATUS=Reloading the configuration");
        station.reload();
        tally::sd_notify(running_status);
        return;
      }
      stop_reason = sig == SIGTERM ? "SIGTERM" : "SIGINT";
      loop.stop();
    });
    station.start();
    // The watchdog is fed by a timer of the event loop itself: a loop stuck in a handler stops feeding it and
    // systemd restarts the service (WatchdogSec= in systemd/tallyd.service). Half the interval, as sd_watchdog_enabled(3) advises.
    tally::Timer watchdog;
    if (const auto interval = tally::watchdog_interval(); interval.count() > 0) {
      const auto half = std::max(std::chrono::milliseconds{1},
                                 std::chrono::duration_cast<std::chrono::milliseconds>(interval / 2));
      watchdog = tally::Timer(loop, [] { tally::sd_notify("WATCHDOG=1"); });
      watchdog.arm(half, half);
    }
    tally::sd_notify(running_status);
    loop.run();
    tally::sd_notify("STOPPING=1\nSTATUS=Stopping (" + stop_reason + "): committing the buffer");
    if (!station.shutdown(stop_reason, std::chrono::milliseconds(2000))) {
      // Everything is committed; destroying a Paho client with a connect in flight would crash (bug #453).
      spdlog::default_logger()->flush();
      std::_Exit(0);
    }
  } catch (const tally::buffer_error& e) {
    spdlog::critical("buffer: {}", e.what());
    return exit_software;
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return exit_software;
  }
  return 0;
}
