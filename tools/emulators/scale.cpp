// tally-emu scale: a bench scale on a pseudo-terminal speaking MT-SICS, A&D, Ohaus, Sartorius SBI or Adam. It
// answers its protocol's commands (weight now / when stable, tare, zero, reset), streams where the protocol streams,
// lets a load settle (dynamic, then stable), and goes into overload and underload. The load and the faults are
// scripted through lines on stdin or a control FIFO ("weight 123.4", "unstable", "overload", "silent", ...).
// Output formats follow shared/reference/devices.md to the byte; where the sources are unsure, the emulator is
// strict (one format) and the driver lenient.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "devices.hpp"
#include "event_loop.hpp"
#include "pty_device.hpp"

namespace tally::emu {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class Proto { mt_sics, and_, ohaus, sartorius, adam };
enum class Stream { off, continuous, on_stable };

double grams_per(const std::string& unit) {
  if (unit == "g") return 1.0;
  if (unit == "kg") return 1000.0;
  if (unit == "lb") return 453.59237;
  if (unit == "oz") return 28.349523125;
  throw UsageError("--unit must be g, kg, lb or oz");
}

std::string fmt(const char* f, double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, decimals, v);
  return buf;
}
std::string right(std::string s, std::size_t width) { return s.size() >= width ? s : std::string(width - s.size(), ' ') + s; }
std::string left(std::string s, std::size_t width) { return s.size() >= width ? s : s + std::string(width - s.size(), ' '); }

// The physical scale: a load on the pan that settles, a zero point and a tare, in grams.
struct Model {
  double capacity_g = 6200;
  double from_g = 0, to_g = 0;  // the load moves from -> to over the settle time
  steady::time_point settle_start{}, settle_end{};
  double power_on_zero_g = 0, zero_g = 0, tare_g = 0;
  bool forced_unstable = false, forced_over = false, forced_under = false;

  double gross(steady::time_point now) const {
    if (now >= settle_end) return to_g;
    const double k = std::chrono::duration<double>(now - settle_start) / (settle_end - settle_start);
    return from_g + (to_g - from_g) * k;
  }
  void load(double g, steady::time_point now, std::chrono::milliseconds settle) {
    from_g = gross(now);
    to_g = g;
    settle_start = now;
    settle_end = now + settle;
    forced_unstable = forced_over = forced_under = false;
  }
  bool stable(steady::time_point now) const { return !forced_unstable && now >= settle_end; }
  bool over(steady::time_point now) const { return forced_over || gross(now) - zero_g > capacity_g * 1.01; }
  bool under(steady::time_point now) const { return forced_under || gross(now) - zero_g < -capacity_g * 0.05; }
  double net(steady::time_point now) const { return gross(now) - zero_g - tare_g; }
};

struct Settings {
  Proto proto = Proto::mt_sics;
  std::string unit = "g";
  int decimals = 2;
  std::chrono::milliseconds interval{100}, settle{500}, stable_timeout{3000};
  bool verbose = false;
};

// One request from the host, waiting in line (a real balance handles commands in order; some wait for stability).
struct Request {
  std::string text;
  steady::time_point received;
};

class ScaleEmu {
 public:
  ScaleEmu(Settings s, std::string link, double weight_g, Stream stream)
      : s_(std::move(s)), link_(std::move(link)), stream_(stream), stream_setting_(stream) {
    device_.emplace(link_);
    model_.load(weight_g, steady::now(), 0ms);
    model_.power_on_zero_g = model_.zero_g = 0;
  }
  void set_capacity(double g) { model_.capacity_g = g; }
  PtyDevice* device() { return device_ ? &*device_ : nullptr; }

  // Bytes from the host.
  void input(std::string_view bytes, steady::time_point now) {
    if (silent_) return;  // a dead scale: what is sent to it is lost
    in_ += bytes;
    if (s_.proto == Proto::sartorius) {
      // SBI: ESC + one letter; CR, LF and '_' after it are optional.
      for (std::size_t i; (i = in_.find('\x1b')) != std::string::npos && i + 1 < in_.size();) {
        queue_.push_back({std::string(1, in_[i + 1]), now});
        in_.erase(0, i + 2);
      }
      if (in_.find('\x1b') == std::string::npos) in_.clear();
    } else {
      for (std::size_t i; (i = in_.find_first_of("\r\n")) != std::string::npos;) {
        std::string line = in_.substr(0, i);
        in_.erase(0, i + 1);
        if (!line.empty()) queue_.push_back({line, now});
      }
      if (in_.size() > 256) in_.clear();
    }
    process(now);
  }

  // The clock: streams, deferred replies, auto print.
  void tick(steady::time_point now) {
    process(now);
    if (silent_) return;
    if (stream_ == Stream::continuous && now >= next_stream_) {
      next_stream_ = now + s_.interval;
      send(weight_line(now));
    } else if (stream_ == Stream::on_stable && model_.stable(now) && !model_.over(now) && !model_.under(now)) {
      const std::string line = weight_line(now);
      if (line != last_auto_) send(line), last_auto_ = line;
    }
  }

  // A control line (stdin or the FIFO). Returns false for "quit".
  bool control(const std::string& line, steady::time_point now) {
    std::istringstream in(line);
    std::string word;
    if (!(in >> word)) return true;
    if (word == "weight" || word == "load") {
      double v = 0;
      std::string unit = "g";
      if (!(in >> v)) return say("weight needs a number of grams: weight 123.4 [g|kg|lb|oz]");
      in >> unit;
      try {
        model_.load(v * grams_per(unit), now, s_.settle);
      } catch (const UsageError&) {
        return say("unknown unit '" + unit + "'");
      }
    } else if (word == "unstable") {
      model_.forced_unstable = true;
    } else if (word == "stable") {
      model_.forced_unstable = false;
      model_.load(model_.to_g, now, 0ms);
    } else if (word == "overload") {
      model_.forced_over = true, model_.forced_under = false;
    } else if (word == "underload") {
      model_.forced_under = true, model_.forced_over = false;
    } else if (word == "normal") {
      model_.forced_over = model_.forced_under = model_.forced_unstable = false;
    } else if (word == "silent") {
      silent_ = true;
      queue_.clear();
    } else if (word == "talk") {
      silent_ = false;
    } else if (word == "refuse-tare") {
      refuse_tare_ = true;
    } else if (word == "refuse-zero") {
      refuse_zero_ = true;
    } else if (word == "accept") {
      refuse_tare_ = refuse_zero_ = false;
    } else if (word == "stream") {
      std::string how;
      in >> how;
      stream_ = how == "off" ? Stream::off : how == "stable" ? Stream::on_stable : Stream::continuous;
    } else if (word == "print") {
      send(weight_line(now));
    } else if (word == "noise") {
      send(std::string("\xf8\x80\x1b\x07\xfe garbage \x81\x9f", 16) + "\r\n");
    } else if (word == "unplug") {
      device_.reset();  // closes the master and removes the link: the reader sees a hang-up
      in_.clear();
      queue_.clear();
    } else if (word == "plug") {
      if (!device_) device_.emplace(link_);
    } else if (word == "status") {
      std::printf("gross %.3f g, zero %.3f g, tare %.3f g, net %.3f g, %s%s%s%s\n", model_.gross(now), model_.zero_g,
                  model_.tare_g, model_.net(now), model_.stable(now) ? "stable" : "unstable",
                  model_.over(now) ? ", overload" : "", model_.under(now) ? ", underload" : "",
                  silent_ ? ", silent" : "");
      std::fflush(stdout);
    } else if (word == "quit" || word == "exit") {
      return false;
    } else {
      say("unknown control '" + word + "' (weight G [unit], unstable, stable, overload, underload, normal, silent, "
          "talk, refuse-tare, refuse-zero, accept, stream on|off|stable, print, noise, unplug, plug, status, quit)");
    }
    return true;
  }

  std::uint64_t requests() const { return requests_; }

 private:
  bool say(const std::string& what) {
    std::fprintf(stderr, "tally-emu: scale: %s\n", what.c_str());
    return true;
  }

  void send(const std::string& line) {
    if (!device_ || silent_) return;
    if (s_.verbose) std::fprintf(stderr, "tally-emu: scale -> %s\n", printable(line).c_str());
    device_->send(line + "\r\n");
  }
  static std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c == 0x1b) out += "ESC ";
      else if (c >= 0x20 && c < 0x7f) out.push_back(static_cast<char>(c));
      else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += hex;
      }
    }
    return out;
  }

  // The displayed weight in the display unit, rounded to the display's resolution.
  double shown(steady::time_point now) const {
    const double scale = std::pow(10.0, s_.decimals);
    const double v = std::round(model_.net(now) / grams_per(s_.unit) * scale) / scale;
    return v == 0 ? 0.0 : v;
  }
  std::string number(double v) const { return fmt("%.*f", v, s_.decimals); }

  // The protocol's weight line (without CR LF), including overload and underload.
  std::string weight_line(steady::time_point now) const {
    const bool over = model_.over(now), under = model_.under(now), stable = model_.stable(now);
    const double v = shown(now);
    const std::string& u = s_.unit;
    switch (s_.proto) {
      case Proto::mt_sics:  // "S S     100.00 g": status, the weight right-aligned in 10, the unit
        if (over) return "S +";
        if (under) return "S -";
        return std::string("S ") + (stable ? "S" : "D") + " " + right(number(v), 10) + " " + u;
      case Proto::and_: {  // "ST,+00123.45  g": header, sign + 8 zero-padded characters, unit right-aligned in 3
        char buf[32];
        std::snprintf(buf, sizeof buf, "%0*.*f", 8, s_.decimals, std::fabs(v));
        const std::string digits = buf;
        if (over || under || digits.size() > 8) return std::string("OL,") + (under ? "-" : "+") + "999999.9" + right(u, 3);
        return std::string(stable ? "ST" : "US") + "," + (v < 0 ? "-" : "+") + digits + right(u, 3);
      }
      case Proto::ohaus: {  // polarity, weight right-justified in 10, space, unit; unstable: unit in 4, " ?"
        if (over || under) return " " + right(over ? "OL" : "UL", 10) + " " + u;
        const std::string head = std::string(v < 0 ? "-" : " ") + right(number(std::fabs(v)), 10) + " ";
        return stable ? head + u : head + left(u, 4) + " ?";
      }
      case Proto::sartorius: {  // sign, space, 8-character weight, space, 3-character unit (blank while unstable)
        if (over) return "+ " + right("H", 8) + " " + "   ";
        if (under) return "- " + right("L", 8) + " " + "   ";
        const char sign = v > 0 ? '+' : v < 0 ? '-' : ' ';
        return std::string(1, sign) + " " + right(number(std::fabs(v)), 8) + " " + (stable ? left(u, 3) : "   ");
      }
      case Proto::adam:  // "      123.45 g ": the signed weight right-justified in 12, space, unit, space
        if (over) return right("OL", 12) + " " + u + " ";
        if (under) return right("UL", 12) + " " + u + " ";
        return right(number(v), 12) + " " + u + " ";
    }
    return {};
  }

  // Handles queued requests in order; stops at one that waits for a stable weight.
  void process(steady::time_point now) {
    while (!queue_.empty() && !silent_) {
      Request& r = queue_.front();
      if (s_.verbose && !r.text.empty() && r.received != seen_) {
        std::fprintf(stderr, "tally-emu: scale <- %s\n", printable(r.text).c_str());
        seen_ = r.received;
      }
      if (!handle(r, now)) return;
      ++requests_;
      queue_.pop_front();
    }
  }

  // Waits for stability: true when stable, false to wait, nullopt when the wait has timed out.
  std::optional<bool> settled(const Request& r, steady::time_point now) const {
    if (model_.stable(now) || model_.over(now) || model_.under(now)) return true;
    if (now - r.received >= s_.stable_timeout) return std::nullopt;
    return false;
  }

  // Tare / zero on the model. Returns "" when done, else the reason: "I" busy/unstable/refused, "+", "-".
  std::string do_tare(steady::time_point now) {
    if (refuse_tare_) return "I";
    if (model_.over(now)) return "+";
    if (model_.under(now) || model_.gross(now) - model_.zero_g < 0) return "-";
    model_.tare_g = model_.gross(now) - model_.zero_g;
    return "";
  }
  std::string do_zero(steady::time_point now) {
    if (refuse_zero_) return "I";
    // The zero range: +-2 % of capacity around the power-on zero (beyond it, the load is not "nothing").
    const double off = model_.gross(now) - model_.power_on_zero_g;
    if (model_.over(now) || off > model_.capacity_g * 0.02) return "+";
    if (model_.under(now) || off < -model_.capacity_g * 0.02) return "-";
    model_.zero_g = model_.gross(now);
    model_.tare_g = 0;
    return "";
  }

  // One request; false = not finished yet (waiting for a stable weight).
  bool handle(const Request& r, steady::time_point now) {
    switch (s_.proto) {
      case Proto::mt_sics: return mt_sics(r, now);
      case Proto::and_: return and_(r, now);
      case Proto::ohaus: return ohaus(r, now);
      case Proto::sartorius: return sartorius(r, now);
      case Proto::adam: return adam(r, now);
    }
    return true;
  }

  bool mt_sics(const Request& r, steady::time_point now) {
    const std::string& c = r.text;
    if (stream_ == Stream::continuous) stream_ = Stream::off;  // SIR runs until the next command
    if (c == "SI") return send(weight_line(now)), true;
    if (c == "SIR") {
      stream_ = Stream::continuous;
      next_stream_ = now;
      return true;
    }
    if (c == "S" || c == "T" || c == "Z") {
      const auto ok = settled(r, now);
      if (ok == false) return false;
      if (!ok) return send(c + " I"), true;  // no stable weight in time
      if (c == "S") return send(weight_line(now)), true;
      if (c == "T") {
        const std::string why = do_tare(now);
        if (!why.empty()) return send("T " + why), true;
        const double t = std::round(model_.tare_g / grams_per(s_.unit) * std::pow(10.0, s_.decimals)) /
                         std::pow(10.0, s_.decimals);
        return send("T S " + right(number(t), 10) + " " + s_.unit), true;
      }
      const std::string why = do_zero(now);
      return send(why.empty() ? "Z A" : "Z " + why), true;
    }
    if (c == "ZI") {
      const bool was_stable = model_.stable(now);
      const std::string why = refuse_zero_ ? "I" : do_zero(now);
      return send(why.empty() ? std::string("ZI ") + (was_stable ? "S" : "D") : "ZI " + why), true;
    }
    if (c == "@") {  // reset: cancels everything, clears the tare, identifies itself
      queue_.erase(queue_.begin() + 1, queue_.end());
      model_.tare_g = 0;
      return send("I4 A \"B021002593\""), true;
    }
    if (c == "I4") return send("I4 A \"B021002593\""), true;
    if (c == "TA") {
      return send("TA A " + right(number(model_.tare_g / grams_per(s_.unit)), 10) + " " + s_.unit), true;
    }
    if (c == "TAC") {
      model_.tare_g = 0;
      return send("TAC A"), true;
    }
    return send("ES"), true;
  }

  bool and_(const Request& r, steady::time_point now) {
    const std::string& c = r.text;
    if (c == "Q" || c == "SI") return send(weight_line(now)), true;
    if (c == "S") {
      const auto ok = settled(r, now);
      if (ok == false) return false;
      return send(ok ? weight_line(now) : "EC,E11"), true;
    }
    if (c == "SIR") {
      stream_ = Stream::continuous;
      next_stream_ = now;
      return true;
    }
    if (c == "C") {
      stream_ = stream_setting_;  // C cancels SIR; stream mode (a menu setting) goes on
      return true;
    }
    if (c == "T" || c == "R") {
      // RE-ZERO and TARE keys: no reply (the ACK setting is off); a refusal is "EC,E11" (stability).
      const auto ok = settled(r, now);
      if (ok == false) return false;
      const std::string why = !ok ? "I" : c == "T" ? do_tare(now) : do_zero(now);
      if (!why.empty()) send(why == "I" ? "EC,E11" : "EC,E17");
      return true;
    }
    if (c == "P" || c == "ON" || c == "OFF") return true;
    return send("EC,E01"), true;
  }

  bool ohaus(const Request& r, steady::time_point now) {
    const std::string& c = r.text;
    if (c == "P") {
      if (stable_only_) {
        const auto ok = settled(r, now);
        if (ok == false) return false;
      }
      return send(weight_line(now)), true;
    }
    if (c == "T" || c == "Z") {  // no reply; a scale that cannot tare just does not
      const auto ok = settled(r, now);
      if (ok == false) return false;
      if (ok && c == "T") do_tare(now);
      if (ok && c == "Z") do_zero(now);
      return true;
    }
    if (c == "CA") return stream_ = Stream::continuous, next_stream_ = now, true;
    if (c == "SA") return stream_ = Stream::on_stable, last_auto_.clear(), true;
    if (c == "0A") return stream_ = Stream::off, true;
    if (c == "1S") return stable_only_ = true, true;
    if (c == "0S") return stable_only_ = false, true;
    return send("ES"), true;
  }

  bool sartorius(const Request& r, steady::time_point now) {
    const char c = r.text.empty() ? '\0' : r.text[0];
    if (c == 'P') return send(weight_line(now)), true;
    if (c == 'T' || c == 'U' || c == 'V') {  // tare/zero key, tare, zero: no reply
      const auto ok = settled(r, now);
      if (ok == false) return false;
      if (!ok) return true;
      const bool zero = c == 'V' || (c == 'T' && std::fabs(model_.gross(now) - model_.zero_g) <
                                                     model_.capacity_g * 0.02);
      if (zero) do_zero(now);
      else do_tare(now);
    }
    return true;  // unknown ESC commands are ignored
  }

  bool adam(const Request& r, steady::time_point now) {
    const std::string& c = r.text;
    if (c == "P") return send(weight_line(now)), true;
    if (c == "T" || c == "Z") {
      const auto ok = settled(r, now);
      if (ok == false) return false;
      if (ok && c == "T") do_tare(now);
      if (ok && c == "Z") do_zero(now);
    }
    return true;
  }

  Settings s_;
  std::string link_;
  std::optional<PtyDevice> device_;
  Model model_;
  Stream stream_;
  const Stream stream_setting_;  // the menu's output mode (--stream); SIR and CA change stream_ for the session
  std::string in_;
  std::deque<Request> queue_;
  steady::time_point next_stream_{}, seen_{};
  std::string last_auto_;
  bool silent_ = false, refuse_tare_ = false, refuse_zero_ = false, stable_only_ = false;
  std::uint64_t requests_ = 0;
};

// Control lines from stdin or the FIFO, split on LF.
struct ControlInput {
  int fd = -1;
  std::string buf;
  bool eof = false;
  // Reads what is there; appends complete lines to `out`.
  void read(std::vector<std::string>& out) {
    char b[512];
    for (;;) {
      const ssize_t n = ::read(fd, b, sizeof b);
      if (n > 0) {
        buf.append(b, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    for (std::size_t i; (i = buf.find('\n')) != std::string::npos;) {
      out.push_back(buf.substr(0, i));
      buf.erase(0, i + 1);
    }
  }
};

Proto parse_proto(const std::string& p) {
  if (p == "mt-sics") return Proto::mt_sics;
  if (p == "and") return Proto::and_;
  if (p == "ohaus") return Proto::ohaus;
  if (p == "sartorius") return Proto::sartorius;
  if (p == "adam") return Proto::adam;
  throw UsageError("--protocol must be mt-sics, and, ohaus, sartorius or adam, not '" + p + "'");
}

}  // namespace

std::vector<OptionSpec> scale_options() {
  return {
      {"protocol", "NAME", "", "mt-sics | and | ohaus | sartorius | adam; required"},
      {"link", "PATH", "", "symlink to create, pointing at the pty slave (the scale's \"port\"); required"},
      {"weight", "G", "0", "the load on the pan at start, in grams"},
      {"unit", "U", "g", "the display unit: g | kg | lb | oz"},
      {"decimals", "N", "2", "digits after the point on the display (the resolution)"},
      {"capacity", "G", "6200", "capacity in grams: above it (+1 %) the scale is overloaded"},
      {"settle-ms", "MS", "500", "a new load is unstable (moving towards it) for this long"},
      {"stable-timeout-ms", "MS", "3000", "how long S / T / Z wait for a stable weight before giving up"},
      {"stream", "", "", "send continuously from the start (A&D stream mode, Ohaus CA, Sartorius/Adam continuous)"},
      {"interval-ms", "MS", "100", "the interval of continuous output (A&D stream mode: ~10 lines/s)"},
      {"control", "PATH", "", "a FIFO to create and read control lines from (besides stdin)"},
      {"verbose", "", "", "log every request and reply to stderr"},
  };
}

int run_scale(const Options& options) {
  Settings s;
  s.proto = parse_proto(options.text("protocol"));
  const std::string link = options.text("link");
  const double weight = options.number("weight");
  s.unit = options.text("unit");
  grams_per(s.unit);
  s.decimals = static_cast<int>(options.integer("decimals", 0, 6));
  const double capacity = options.number("capacity");
  if (!(capacity > 0)) throw UsageError("--capacity must be > 0");
  s.settle = std::chrono::milliseconds(options.integer("settle-ms", 0, 600'000));
  s.stable_timeout = std::chrono::milliseconds(options.integer("stable-timeout-ms", 0, 600'000));
  s.interval = std::chrono::milliseconds(options.integer("interval-ms", 10, 3'600'000));
  s.verbose = options.flag("verbose");
  const std::string control_path = options.given("control") ? options.text("control") : "";
  const std::string name = options.text("protocol");

  EventLoop loop{20ms};  // the scale's clock; blocks SIGINT/SIGTERM/SIGHUP first
  // The control FIFO: opened read-write so it never reports end-of-file when a writer closes it.
  int control_fd = -1;
  bool made_fifo = false;
  if (!control_path.empty()) {
    struct stat st {};
    if (::lstat(control_path.c_str(), &st) == 0) {
      if (!S_ISFIFO(st.st_mode)) throw std::runtime_error(control_path + " exists and is not a FIFO");
    } else {
      if (::mkfifo(control_path.c_str(), 0600) != 0)
        throw std::runtime_error("mkfifo " + control_path + ": " + std::strerror(errno));
      made_fifo = true;
    }
    control_fd = ::open(control_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (control_fd < 0) throw std::runtime_error("open " + control_path + ": " + std::strerror(errno));
  }
  const int stdin_flags = ::fcntl(STDIN_FILENO, F_GETFL);
  if (stdin_flags >= 0) ::fcntl(STDIN_FILENO, F_SETFL, stdin_flags | O_NONBLOCK);

  ScaleEmu scale(s, link, weight, options.flag("stream") ? Stream::continuous : Stream::off);
  scale.set_capacity(capacity);
  std::fprintf(stderr, "tally-emu: scale (%s) on %s (link %s)\n", name.c_str(), scale.device()->slave_path().c_str(),
               link.c_str());

  ControlInput in{STDIN_FILENO, {}, stdin_flags < 0}, fifo{control_fd, {}, control_fd < 0};
  int stopped_by = 0;
  bool quit = false;
  while (!quit) {
    std::vector<pollfd> fds;
    PtyDevice* dev = scale.device();
    const bool reader = dev && dev->reader_present();  // no reader: the master reports a hang-up, do not poll it
    if (reader) fds.push_back({dev->fd(), static_cast<short>(POLLIN | (dev->busy() ? POLLOUT : 0)), 0});
    if (!in.eof) fds.push_back({in.fd, POLLIN, 0});
    if (!fifo.eof) fds.push_back({fifo.fd, POLLIN, 0});
    const auto wake = loop.wait(fds);
    if (wake.signal) {
      stopped_by = wake.signal;
      break;
    }
    const auto now = steady::now();
    if (reader && dev->busy()) dev->flush();
    if (reader) {
      const std::string bytes = dev->receive();
      if (!bytes.empty()) scale.input(bytes, now);
    }
    std::vector<std::string> lines;
    if (!in.eof) in.read(lines);
    if (!fifo.eof) fifo.read(lines);
    for (const auto& l : lines)
      if (!scale.control(l, now)) quit = true;
    scale.tick(now);
  }

  if (control_fd >= 0) ::close(control_fd);
  if (made_fifo) ::unlink(control_path.c_str());
  std::fprintf(stderr, "tally-emu: scale (%s) %s: %llu requests answered\n", name.c_str(),
               stopped_by ? (std::string("stopped by SIG") + sigabbrev_np(stopped_by)).c_str() : "done",
               static_cast<unsigned long long>(scale.requests()));
  return 0;
}

}  // namespace tally::emu
