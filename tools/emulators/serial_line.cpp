// tally-emu serial-line: one value a line on a pseudo-terminal, a slow sine wave between --min and --max.
#include <poll.h>
#include <string.h>  // sigabbrev_np

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <random>
#include <string>
#include <string_view>

#include "devices.hpp"
#include "event_loop.hpp"
#include "pty_device.hpp"

namespace tally::emu {

namespace {

struct QuantityDefaults {
  std::string_view quantity;
  double min, max;
  const char* format;
};

// Plausible ranges per quantity, used when --min/--max/--format are not given.
constexpr std::array kQuantities{
    QuantityDefaults{"temperature", 20.0, 80.0, "%.2f"},
    QuantityDefaults{"humidity", 30.0, 70.0, "%.1f"},
    QuantityDefaults{"weight", 0.0, 500.0, "%.1f"},
    QuantityDefaults{"pressure", 0.9, 1.1, "%.4f"},
    QuantityDefaults{"voltage", 0.0, 5.0, "%.3f"},
};
constexpr QuantityDefaults kOtherQuantity{"", 0.0, 100.0, "%.2f"};

const QuantityDefaults& defaults_for(std::string_view quantity) {
  for (const auto& q : kQuantities)
    if (q.quantity == quantity) return q;
  return kOtherQuantity;
}

// The format must hold exactly one floating-point conversion (flags, width, precision allowed) and maybe %%:
// anything else would make snprintf read arguments that are not there.
void check_format(const std::string& f) {
  int conversions = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (++i < f.size() && f[i] == '%') continue;
    while (i < f.size() && std::strchr("-+ #0", f[i]) && f[i] != '\0') ++i;
    std::size_t digits = 0;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9') ++i, ++digits;
    if (i < f.size() && f[i] == '.') {
      ++i;
      while (i < f.size() && f[i] >= '0' && f[i] <= '9') ++i, ++digits;
    }
    if (i >= f.size() || !std::strchr("fFeEgGaA", f[i]) || f[i] == '\0' || digits > 4)
      throw UsageError("--format: use one floating-point conversion like %.2f, %8.3f, %g (and %% for a percent "
                       "sign), not '" + f + "'");
    ++conversions;
  }
  if (conversions != 1) throw UsageError("--format needs exactly one conversion for the value, like 'T=%.2f C'");
}

std::string format_value(const std::string& format, double value) {
  char buf[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const int n = std::snprintf(buf, sizeof buf, format.c_str(), value);
#pragma GCC diagnostic pop
  if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf) throw UsageError("--format produces too long a line");
  return std::string(buf, static_cast<std::size_t>(n));
}

// Line noise: random bytes, including NUL, control characters and bytes >= 0x80 (never CR or LF, and never ASCII
// digits, so a reader that takes "the first number in the line" finds no fake values in it).
std::string noise_bytes(std::mt19937& rng) {
  std::uniform_int_distribution<int> length(1, 32);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out;
  for (int n = length(rng); static_cast<int>(out.size()) < n;) {
    const int b = byte(rng);
    if (b == '\r' || b == '\n' || (b >= '0' && b <= '9')) continue;
    out.push_back(static_cast<char>(b));
  }
  return out;
}

const char* signal_name(int sig) { return sig ? sigabbrev_np(sig) : nullptr; }

}  // namespace

std::vector<OptionSpec> serial_line_options() {
  return {
      {"link", "PATH", "", "symlink to create, pointing at the pty slave (the device's \"port\"); required"},
      {"interval-ms", "MS", "500", "one value line every MS milliseconds"},
      {"quantity", "NAME", "temperature",
       "temperature | humidity | weight | pressure | voltage | any label: chooses the default range and format"},
      {"format", "PRINTF", "", "printf format with one floating-point conversion, e.g. 'T=%.2f C' (default: per quantity)"},
      {"min", "X", "", "lowest value of the sine wave (default: per quantity)"},
      {"max", "X", "", "highest value of the sine wave (default: per quantity)"},
      {"period-s", "S", "60", "period of the sine wave in seconds"},
      {"eol", "crlf|lf|cr", "crlf", "line terminator"},
      {"noise-every", "N", "0", "after every N value lines, one line of random bytes (1 in 4: no terminator); 0 = off"},
      {"seed", "N", "1", "seed of the noise generator (same seed, same noise)"},
      {"count", "N", "0", "exit after N value lines (after the reader has read them, up to 2 s); 0 = run until stopped"},
      {"wait-reader", "", "", "start the wave only once something opens the port (no lines are lost before that)"},
      {"echo", "", "", "also print every value line sent to stdout"},
  };
}

int run_serial_line(const Options& options) {
  const std::string link = options.text("link");
  const auto interval_ms = options.integer("interval-ms", 1, 3'600'000);
  const std::string quantity = options.text("quantity");
  const QuantityDefaults& defaults = defaults_for(quantity);
  const std::string format = options.given("format") ? options.text("format") : defaults.format;
  const double min = options.given("min") ? options.number("min") : defaults.min;
  const double max = options.given("max") ? options.number("max") : defaults.max;
  const double period_s = options.number("period-s");
  const std::string eol_name = options.text("eol");
  const auto noise_every = options.integer("noise-every", 0, 1'000'000'000);
  const auto seed = options.integer("seed", 0, 0xffffffffLL);
  const auto count = options.integer("count", 0, 1'000'000'000'000LL);
  const bool wait_reader = options.flag("wait-reader");
  const bool echo = options.flag("echo");

  check_format(format);
  if (!(max >= min)) throw UsageError("--max must not be below --min");
  if (!(period_s > 0)) throw UsageError("--period-s must be > 0");
  std::string eol;
  if (eol_name == "crlf") eol = "\r\n";
  else if (eol_name == "lf") eol = "\n";
  else if (eol_name == "cr") eol = "\r";
  else throw UsageError("--eol must be crlf, lf or cr");
  format_value(format, min);  // fails now rather than on the first line
  format_value(format, max);

  EventLoop loop{std::chrono::milliseconds(interval_ms)};  // blocks SIGINT/SIGTERM/SIGHUP first
  PtyDevice device(link);
  std::fprintf(stderr, "tally-emu: serial-line on %s (link %s)\n", device.slave_path().c_str(), link.c_str());

  std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
  std::uniform_int_distribution<int> one_in_four(0, 3);
  const double interval_s = static_cast<double>(interval_ms) / 1000.0;
  bool started = !wait_reader;
  std::uint64_t tick = 0;  // index of the next value (time since the wave started, in intervals)
  long long values = 0, noise = 0, partial = 0;
  std::string prefix;  // a partial noise line, glued to the front of the next value line
  int stopped_by = 0;

  for (;;) {
    std::array<pollfd, 1> out{pollfd{device.fd(), POLLOUT, 0}};
    const auto wake = loop.wait(device.busy() ? std::span<pollfd>(out) : std::span<pollfd>());
    if (wake.signal) {
      stopped_by = wake.signal;
      break;
    }
    if (device.busy() && out[0].revents) device.flush();
    if (!wake.ticks) continue;
    if (!started) {
      if (!device.reader_present()) continue;
      started = true;
    } else if (values > 0) {
      tick += wake.ticks;  // more than one: we were late; skip the values we missed, like a real clock would
    }

    const double t = static_cast<double>(tick) * interval_s;
    const double value = min + (max - min) * (0.5 + 0.5 * std::sin(2.0 * std::numbers::pi * t / period_s));
    const std::string text = format_value(format, value);
    device.send(prefix + text + eol);
    prefix.clear();
    ++values;
    if (echo) {
      std::fprintf(stdout, "%s\n", text.c_str());
      std::fflush(stdout);
    }
    if (count && values >= count) break;

    if (noise_every && values % noise_every == 0) {
      ++noise;
      if (one_in_four(rng) == 0) {
        ++partial;
        prefix = noise_bytes(rng);
      } else {
        device.send(noise_bytes(rng) + eol);
      }
    }
  }

  if (!stopped_by) device.drain(std::chrono::seconds(2));
  const auto& s = device.stats();
  std::fprintf(stderr,
               "tally-emu: serial-line %s: %lld value lines, %lld noise (%lld partial); %llu writes, %llu dropped "
               "(no reader %llu, reader too slow %llu)\n",
               stopped_by ? (std::string("stopped by SIG") + signal_name(stopped_by)).c_str() : "done", values, noise,
               partial, static_cast<unsigned long long>(s.units_written),
               static_cast<unsigned long long>(s.dropped_no_reader + s.dropped_busy),
               static_cast<unsigned long long>(s.dropped_no_reader), static_cast<unsigned long long>(s.dropped_busy));
  return 0;
}

}  // namespace tally::emu
