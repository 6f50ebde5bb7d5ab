// tally-emu scale: a bench scale on a pseudo-terminal speaking MT-SICS, A&D, Ohaus, Sartorius SBI or Adam. It
// answers its protocol's commands (weight now / when stable, tare, zero, reset), streams where the protocol streams,
// lets a load settle (dynamic, then stable), and goes into overload and underload. The load and the faults are
// scripted through lines on stdin or a control FIFO ("weight 123.4", "unstable", "overload", "silent", ...).
// This file is the shared part (the model, the queue, the stream, the control lines, the main loop); each protocol's
// output forms and answers are in scale_<protocol>.cpp. The forms are the ones in drivers/scale_serial/corpus/
// (manuals, captures, other implementations), selected with --form; "raw" and "play" send any corpus line verbatim.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "devices.hpp"
#include "event_loop.hpp"
#include "scale.hpp"

namespace tally::emu {
namespace scale {

using namespace std::chrono_literals;

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

std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 >= text.size()) {
      out.push_back(text[i]);
      continue;
    }
    const char c = text[++i];
    if (c == 'r') out.push_back('\r');
    else if (c == 'n') out.push_back('\n');
    else if (c == 't') out.push_back('\t');
    else if (c == '\\') out.push_back('\\');
    else if (c == 'x' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
             std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      throw UsageError("bad escape \\" + std::string(1, c) + " (use \\r \\n \\t \\\\ \\xNN)");
    }
  }
  return out;
}

double Model::gross(steady::time_point now) const {
  if (now >= settle_end) return to_g;
  const double k = std::chrono::duration<double>(now - settle_start) / (settle_end - settle_start);
  return from_g + (to_g - from_g) * k;
}

void Model::load(double g, steady::time_point now, std::chrono::milliseconds settle) {
  from_g = gross(now);
  to_g = g;
  settle_start = now;
  settle_end = now + settle;
  forced_unstable = forced_over = forced_under = false;
}

std::unique_ptr<ScaleProtocol> make_protocol(const std::string& name, const std::string& form) {
  if (name == "mt-sics") return make_mt_sics(form);
  if (name == "and") return make_and(form);
  if (name == "ohaus") return make_ohaus(form);
  if (name == "sartorius") return make_sartorius(form);
  if (name == "adam") return make_adam(form);
  throw UsageError("--protocol must be mt-sics, and, ohaus, sartorius or adam, not '" + name + "'");
}

Scale::Scale(Settings settings, std::string link, double weight_g, Stream st)
    : s(std::move(settings)), stream(st), stream_setting(st), protocol_(make_protocol(s.protocol, s.form)),
      link_(std::move(link)) {
  device_.emplace(link_);
  model.load(weight_g, steady::now(), 0ms);
  model.power_on_zero_g = model.zero_g = 0;
}

void Scale::input(std::string_view bytes, steady::time_point now) {
  if (silent_) return;  // a dead scale: what is sent to it is lost
  in_ += bytes;
  if (protocol_->escape_commands()) {
    // SBI: ESC + one letter; CR, LF and '_' after it are optional.
    for (std::size_t i; (i = in_.find('\x1b')) != std::string::npos && i + 1 < in_.size();) {
      queue.push_back({std::string(1, in_[i + 1]), now});
      in_.erase(0, i + 2);
    }
    if (in_.find('\x1b') == std::string::npos) in_.clear();
  } else {
    for (std::size_t i; (i = in_.find_first_of("\r\n")) != std::string::npos;) {
      std::string line = in_.substr(0, i);
      in_.erase(0, i + 1);
      if (!line.empty()) queue.push_back({line, now});
    }
    if (in_.size() > 256) in_.clear();
  }
  process(now);
}

void Scale::tick(steady::time_point now) {
  process(now);
  if (silent_) return;
  if (stream == Stream::continuous && now >= next_stream) {
    next_stream = now + s.interval;
    send(weight_line(now));
  } else if (stream == Stream::on_stable && model.stable(now) && !model.over(now) && !model.under(now)) {
    const std::string line = weight_line(now);
    if (line != last_auto) send(line), last_auto = line;
  }
}

bool Scale::control(const std::string& line, steady::time_point now) {
  std::istringstream in(line);
  std::string word;
  if (!(in >> word)) return true;
  if (word == "weight" || word == "load") {
    double v = 0;
    std::string unit = "g";
    if (!(in >> v)) return say("weight needs a number of grams: weight 123.4 [g|kg|lb|oz]");
    in >> unit;
    try {
      model.load(v * grams_per(unit), now, s.settle);
    } catch (const UsageError&) {
      return say("unknown unit '" + unit + "'");
    }
  } else if (word == "unstable") {
    model.forced_unstable = true;
  } else if (word == "stable") {
    model.forced_unstable = false;
    model.load(model.to_g, now, 0ms);
  } else if (word == "overload") {
    model.forced_over = true, model.forced_under = false;
  } else if (word == "underload") {
    model.forced_under = true, model.forced_over = false;
  } else if (word == "normal") {
    model.forced_over = model.forced_under = model.forced_unstable = false;
  } else if (word == "silent") {
    silent_ = true;
    queue.clear();
  } else if (word == "talk") {
    silent_ = false;
  } else if (word == "refuse-tare") {
    refuse_tare = true;
  } else if (word == "refuse-zero") {
    refuse_zero = true;
  } else if (word == "accept") {
    refuse_tare = refuse_zero = false;
  } else if (word == "stream") {
    std::string how;
    in >> how;
    stream = how == "off" ? Stream::off : how == "stable" ? Stream::on_stable : Stream::continuous;
  } else if (word == "form") {
    std::string form;
    in >> form;
    try {
      protocol_ = make_protocol(s.protocol, form);
      s.form = form;
    } catch (const UsageError& e) {
      return say(e.what());
    }
  } else if (word == "print") {
    send(weight_line(now));
  } else if (word == "raw") {
    // Any line of the corpus, escaped as there: sent verbatim (CR LF added when it has no line end).
    try {
      std::string bytes = unescape(line.size() > 4 ? std::string_view(line).substr(line.find("raw") + 4) : "");
      if (device_ && !silent_) device_->send(bytes.empty() || (bytes.back() != '\n' && bytes.back() != '\r') ? bytes + "\r\n" : bytes);
    } catch (const UsageError& e) {
      return say(e.what());
    }
  } else if (word == "play") {
    std::string path;
    in >> path;
    play(path);
  } else if (word == "noise") {
    send(std::string("\xf8\x80\x1b\x07\xfe garbage \x81\x9f", 16));
  } else if (word == "unplug") {
    device_.reset();  // closes the master and removes the link: the reader sees a hang-up
    in_.clear();
    queue.clear();
  } else if (word == "plug") {
    if (!device_) device_.emplace(link_);
  } else if (word == "status") {
    std::printf("gross %.3f g, zero %.3f g, tare %.3f g, net %.3f g, %s%s%s%s\n", model.gross(now), model.zero_g,
                model.tare_g, model.net(now), model.stable(now) ? "stable" : "unstable",
                model.over(now) ? ", overload" : "", model.under(now) ? ", underload" : "", silent_ ? ", silent" : "");
    std::fflush(stdout);
  } else if (word == "quit" || word == "exit") {
    return false;
  } else {
    say("unknown control '" + word + "' (weight G [unit], unstable, stable, overload, underload, normal, silent, "
        "talk, refuse-tare, refuse-zero, accept, stream on|off|stable, form NAME, print, raw BYTES, play FILE, noise, "
        "unplug, plug, status, quit)");
  }
  return true;
}

// Every line of a corpus file (drivers/scale_serial/corpus/*.tsv: the escaped bytes before the first tab).
void Scale::play(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    say("cannot read " + path);
    return;
  }
  std::string all, text;
  while (std::getline(f, text)) {
    if (text.empty() || text[0] == '#') continue;
    try {
      all += unescape(text.substr(0, text.find('\t')));
    } catch (const UsageError& e) {
      say(path + ": " + e.what());
      return;
    }
  }
  if (device_ && !silent_) device_->send(all);
}

bool Scale::say(const std::string& what) {
  std::fprintf(stderr, "tally-emu: scale: %s\n", what.c_str());
  return true;
}

namespace {
std::string printable(const std::string& s) {
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
}  // namespace

void Scale::send(const std::string& line) {
  if (!device_ || silent_) return;
  if (s.verbose) std::fprintf(stderr, "tally-emu: scale -> %s\n", printable(line).c_str());
  device_->send(line + "\r\n");
}

double Scale::in_unit(double grams) const {
  const double scale = std::pow(10.0, s.decimals);
  const double v = std::round(grams / grams_per(s.unit) * scale) / scale;
  return v == 0 ? 0.0 : v;
}

Display Scale::display(steady::time_point now) const {
  Display d;
  d.value = in_unit(model.net(now));
  d.tare = in_unit(model.tare_g);
  d.stable = model.stable(now);
  d.over = model.over(now);
  d.under = model.under(now);
  d.unit = s.unit;
  d.decimals = s.decimals;
  return d;
}

void Scale::process(steady::time_point now) {
  while (!queue.empty() && !silent_) {
    Request& r = queue.front();
    if (s.verbose && !r.text.empty() && r.received != seen_) {
      std::fprintf(stderr, "tally-emu: scale <- %s\n", printable(r.text).c_str());
      seen_ = r.received;
    }
    if (!protocol_->handle(*this, r, now)) return;
    ++requests_;
    queue.pop_front();
  }
}

std::optional<bool> Scale::settled(const Request& r, steady::time_point now) const {
  if (model.stable(now) || model.over(now) || model.under(now)) return true;
  if (now - r.received >= s.stable_timeout) return std::nullopt;
  return false;
}

std::string Scale::do_tare(steady::time_point now) {
  if (refuse_tare) return "I";
  if (model.over(now)) return "+";
  if (model.under(now) || model.gross(now) - model.zero_g < 0) return "-";
  model.tare_g = model.gross(now) - model.zero_g;
  return "";
}

std::string Scale::do_zero(steady::time_point now) {
  if (refuse_zero) return "I";
  // The zero range: +-2 % of capacity around the power-on zero (beyond it, the load is not "nothing").
  const double off = model.gross(now) - model.power_on_zero_g;
  if (model.over(now) || off > model.capacity_g * 0.02) return "+";
  if (model.under(now) || off < -model.capacity_g * 0.02) return "-";
  model.zero_g = model.gross(now);
  model.tare_g = 0;
  return "";
}

namespace {
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


}  // namespace
}  // namespace scale

using namespace scale;

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
      {"form", "NAME", "", "the output form (see README: e.g. ohaus defender, sartorius sbi22, adam glued)"},
      {"stream", "", "", "send continuously from the start (A&D stream mode, Ohaus CA, Sartorius/Adam continuous)"},
      {"interval-ms", "MS", "100", "the interval of continuous output (A&D stream mode: ~10 lines/s)"},
      {"control", "PATH", "", "a FIFO to create and read control lines from (besides stdin)"},
      {"verbose", "", "", "log every request and reply to stderr"},
  };
}

int run_scale(const Options& options) {
  Settings s;
  s.protocol = options.text("protocol");
  s.form = options.given("form") ? options.text("form") : "";
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

  Scale scale(s, link, weight, options.flag("stream") ? Stream::continuous : Stream::off);
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
