#include "scale_serial/scale_serial.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <vector>

#include "device_error.hpp"
#include "scale_serial/units.hpp"
#include "serial/line_splitter.hpp"
#include "serial/read_lines.hpp"
#include "table_reader.hpp"

namespace tally::scale_serial {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How often a streaming scale is checked for silence (the runner calls collect() at this interval).
constexpr std::chrono::milliseconds kStreamCheck{250};
// A request whose reply never came (lost to noise) is given up after this long, and the next poll sent.
constexpr std::chrono::milliseconds kReplyLost{1000};

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 9), v);
  return buf;
}

std::string seconds(std::chrono::milliseconds ms) { return fixed(static_cast<double>(ms.count()) / 1000.0, 1); }

std::string printable_bytes(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    if (c == '\r' || c == '\n') continue;
    if (c == '\x1b') out += "ESC ";
    else out.push_back(c);
  }
  return out;
}

class ScaleSerial final : public Driver {
 public:
  explicit ScaleSerial(Settings s) : s_(std::move(s)), p_(s_.protocol ? *s_.protocol : protocols()[0]) {}

  void open() override {
    port_ = open_serial(s_.serial);
    splitter_.reset();
    inflight_.reset();
    command_.reset();
    const auto now = clock::now();
    last_answer_ = now;
    noise_ = 0;
    // Ask at once, so a present scale is reported online without waiting a poll interval.
    if (polled()) send_poll(now);
    else if (!p_.stream.empty()) send(p_.stream);  // MT-SICS: SIR, the SI reply repeated until the next command
    if (write_errno_) throw_write_error();
  }

  void close() noexcept override {
    port_.reset();
    inflight_.reset();
    command_.reset();
  }

  int fd() const noexcept override { return port_.get(); }
  // Polled: the poll rate. Streaming: still called regularly, to notice a scale that went silent.
  std::chrono::milliseconds poll_interval() const noexcept override { return polled() ? s_.poll : kStreamCheck; }
  // An open port is not a scale: the first valid frame brings the device online.
  bool confirms_online() const noexcept override { return true; }

  void collect(InputSink& sink) override {
    read_lines(
        port_.get(), s_.serial.port, splitter_,
        [&](std::string_view line, wall_time ts) { handle(p_.parse(line), ts, sink); },
        [&] {
          ++noise_;
          sink.dropped("line too long");
        });
    const auto now = clock::now();
    check_silence(now);
    if (polled()) pump(now);
    else if (command_ && !command_->written) write_command(now);
    if (write_errno_) throw_write_error();
  }

  bool start_command(std::string_view name, CommandDone done) override {
    if (name != "tare" && name != "zero") return false;
    command_ = Command{std::string(name), name == "tare" ? "T" : "Z", std::move(done)};
    // Request/response: one request on the line at a time, so the reply is matched to it; else write it now.
    if (!polled() || !inflight_) write_command(clock::now());
    return true;
  }

  void cancel_command() noexcept override {
    command_.reset();
    if (inflight_ && inflight_->command) inflight_.reset();
    last_answer_ = clock::now();  // the wait was the command's; give the scale a fresh window to answer polls
    resume_stream();
  }

 private:
  struct Inflight {
    clock::time_point sent;
    bool command = false;  // a tare/zero awaiting its reply (MT-SICS), else a weight request
  };
  struct Command {
    std::string name;  // "tare" | "zero"
    std::string code;  // the reply id that answers it (MT-SICS "T" / "Z")
    CommandDone done;
    bool written = false;
    clock::time_point written_at{};
    int frames_after = 0;
  };

  bool polled() const { return s_.poll.count() > 0; }

  bool send(std::string_view bytes) {
    if (!port_) return false;
    for (;;) {
      const ssize_t n = ::write(port_.get(), bytes.data(), bytes.size());
      if (n == static_cast<ssize_t>(bytes.size())) return true;
      if (n < 0 && errno == EINTR) continue;
      // EAGAIN: the UART's buffer is full (a few bytes never are, unless the line is stuck): try again later.
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) write_errno_ = errno;
      return false;
    }
  }

  [[noreturn]] void throw_write_error() {
    const int e = std::exchange(write_errno_, 0);
    errno = e;
    throw_from_errno("write " + s_.serial.port);
  }

  void send_poll(clock::time_point now) {
    if (!send(p_.poll)) return;
    inflight_ = Inflight{now, false};
    // A little early is due: the runner's timer and our clock tick a few microseconds apart.
    next_poll_ = now + s_.poll * 3 / 4;
  }

  // Request/response: a lost reply is given up, a queued command goes first, then the poll when due.
  void pump(clock::time_point now) {
    if (inflight_ && !inflight_->command && now - inflight_->sent >= std::max<clock::duration>(kReplyLost, s_.poll))
      inflight_.reset();
    if (inflight_) return;
    if (command_ && !command_->written) {
      write_command(now);
      return;  // the next poll waits a tick: a scale that does not answer tare/zero needs the time to do it
    }
    if (now >= next_poll_) send_poll(now);
  }

  void write_command(clock::time_point now) {
    if (!send(command_->name == "tare" ? p_.tare : p_.zero)) {
      if (write_errno_) finish(false, "could not send " + command_->name + " to the scale");
      return;  // EAGAIN: tried again on the next collect
    }
    command_->written = true;
    command_->written_at = now;
    if (polled() && p_.answers_commands) inflight_ = Inflight{now, true};
    if (polled() && !p_.answers_commands) next_poll_ = std::max(next_poll_, now + s_.poll * 3 / 4);
  }

  void finish(bool ok, std::string detail) {
    auto c = std::move(command_);
    command_.reset();
    if (c && c->done) c->done(ok, std::move(detail));
  }

  // MT-SICS SIR stops at any other command: start it again after a tare or zero.
  void resume_stream() {
    if (!polled() && !p_.stream.empty() && port_) send(p_.stream);
  }

  void check_silence(clock::time_point now) {
    if (s_.timeout.count() == 0 || now - last_answer_ < s_.timeout) return;
    // A tare waits for a stable weight before the scale answers: the runner gives it its own deadline.
    if (command_ && command_->written && p_.answers_commands) return;
    std::string what = s_.serial.port + ": no answer from the scale for " + seconds(s_.timeout) + " s (" +
                       std::string(p_.name);
    what += polled() ? ", asking \"" + printable_bytes(p_.poll) + "\" every " + std::to_string(s_.poll.count()) + " ms)"
                     : ", poll_ms = 0: is the scale set to send continuously?)";
    if (noise_ > 0) what += "; only unreadable data came: check baud and framing";
    throw device_error(ETIMEDOUT, what);
  }

  void handle(const ScaleFrame& f, wall_time ts, InputSink& sink) {
    if (f.kind == FrameKind::garbage) {
      ++noise_;
      sink.dropped(f.reason);
      return;
    }
    last_answer_ = clock::now();
    noise_ = 0;
    switch (f.kind) {
      case FrameKind::weight:
      case FrameKind::fault: {
        std::optional<clock::time_point> asked;  // when the request this frame answers was sent
        if (inflight_ && !inflight_->command) asked = std::exchange(inflight_, std::nullopt)->sent;
        const auto r = reading(f, ts, sink);
        if (r && command_ && command_->written && !p_.answers_commands) settle_unconfirmed(asked, *r);
        return;
      }
      case FrameKind::busy:  // "S I": the answer to the weight request, without a value
        if (inflight_ && !inflight_->command) inflight_.reset();
        return;
      case FrameKind::info:
        // Not the answer to a weight request: a heading before it (Ohaus Ranger "SCALE: 1", its G and T lines), an
        // acknowledgement of a command ("OK!", ACK), an identification line. The weight line that follows answers.
        return;
      case FrameKind::ack:
      case FrameKind::refused:
        if (inflight_ && inflight_->command) inflight_.reset();
        if (!command_ || !command_->written || command_->code != f.command) return;  // a late or foreign reply
        if (f.kind == FrameKind::refused) {
          finish(false, "scale refused " + command_->name + ": " + f.reason);
        } else if (command_->name == "tare" && f.value) {
          const auto unit = f.unit.empty() ? last_unit_ : f.unit;
          const auto v = convert_mass(*f.value, f.decimals, unit, s_.unit);
          const auto g = grams_per(unit), to = grams_per(s_.unit);
          finish(true, v && g && to ? "tare " + fixed(*v, converted_decimals(f.decimals, *g, *to)) + " " + s_.unit
                                    : "tared");
        } else {
          finish(true, command_->name == "tare" ? "tared" : "zeroed");
        }
        resume_stream();
        return;
      case FrameKind::error:
        if (command_ && command_->written) {
          if (inflight_ && inflight_->command) inflight_.reset();
          finish(false, "scale refused " + command_->name + ": " + f.reason);
          resume_stream();
          return;
        }
        if (inflight_) inflight_.reset();
        sink.reading(fault_reading("error: " + f.reason, ts));
        return;
      case FrameKind::garbage:
        return;
    }
  }

  Reading fault_reading(std::string fault, wall_time ts) const {
    Reading r = Reading::faulted("mass", s_.unit, std::move(fault), ts);
    r.stable = false;
    return r;
  }

  // A weight or fault frame as a reading in the configured unit; nullopt (and counted) when it cannot be one.
  std::optional<Reading> reading(const ScaleFrame& f, wall_time ts, InputSink& sink) {
    if (f.kind == FrameKind::fault) {
      Reading r = fault_reading(f.reason, ts);
      sink.reading(r);
      return r;
    }
    // Sartorius prints no unit while unstable: it is the one of the last stable frame.
    if (!f.unit.empty()) last_unit_ = f.unit;
    const std::string& unit = f.unit.empty() ? last_unit_ : f.unit;
    if (unit.empty()) {
      sink.dropped("weight without a unit (none seen yet)");
      return std::nullopt;
    }
    const auto v = convert_mass(*f.value, f.decimals, unit, s_.unit);
    if (!v) {
      // A count, a percentage, a force, a density or a regional unit (tael): recorded by the parser as printed,
      // counted here with its name so the operator sees what the scale is set to.
      sink.dropped("unit \"" + unit + "\" is not a mass tallyd converts (set the scale to g, kg, lb or oz)");
      return std::nullopt;
    }
    Reading r = Reading::measured("mass", *v, s_.unit, ts);
    r.stable = f.stable;
    last_decimals_ = converted_decimals(f.decimals, *grams_per(unit), *grams_per(s_.unit));
    sink.reading(r);
    return r;
  }

  // Ohaus, Sartorius, Adam (and A&D without its ACK setting) do not answer tare/zero: the command is done once a
  // weight taken after it arrived: polled, the answer to a request sent after the command; streaming, the second
  // frame after it (the first may have left the scale before the command arrived).
  void settle_unconfirmed(std::optional<clock::time_point> asked, const Reading& r) {
    if (polled() ? !(asked && *asked > command_->written_at) : ++command_->frames_after < 2) return;
    std::string now_reads = r.value ? fixed(*r.value, last_decimals_) + " " + r.unit + (r.stable == true ? ", stable"
                                                                                                          : ", not stable")
                                    : r.fault;
    finish(true, command_->name + " sent (" + std::string(p_.title) + " does not confirm it); the scale now reads " +
                     now_reads);
  }

  Settings s_;
  const ProtocolInfo& p_;
  unique_fd port_;
  LineSplitter splitter_;
  std::optional<Inflight> inflight_;
  std::optional<Command> command_;
  clock::time_point last_answer_{}, next_poll_{};
  std::uint64_t noise_ = 0;  // unreadable lines since the last valid frame
  int write_errno_ = 0;
  std::string last_unit_;
  int last_decimals_ = 0;
};

}  // namespace

std::chrono::milliseconds default_timeout(std::chrono::milliseconds poll) { return std::max(poll * 3, 2000ms); }

std::unique_ptr<Driver> make_driver(Settings s) { return std::make_unique<ScaleSerial>(std::move(s)); }

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.serial = read_serial_settings(keys);
  std::vector<std::string> names;
  for (const auto& p : protocols()) names.emplace_back(p.name);
  if (keys.has("protocol")) {
    s.protocol = find_protocol(keys.choice("protocol", "mt-sics", names));
  } else {
    keys.required_string("protocol");
  }
  if (!s.protocol) s.protocol = &protocols()[0];

  s.poll = std::chrono::milliseconds(keys.integer("poll_ms", 500, 0, 3'600'000));
  if (s.poll.count() > 0 && s.poll < 50ms) {
    keys.error("poll_ms", "must be 0 (the scale streams) or at least 50");
    s.poll = 500ms;
  }
  s.timeout = default_timeout(s.poll);
  if (keys.has("timeout_ms")) {
    s.timeout = std::chrono::milliseconds(keys.integer("timeout_ms", s.timeout.count(), 0, 86'400'000));
    if (s.timeout.count() > 0 && s.timeout < std::max(s.poll * 2, 100ms)) {
      keys.error("timeout_ms", "must be 0 (never) or at least twice poll_ms (and 100 ms)");
      s.timeout = default_timeout(s.poll);
    }
  }
  s.unit = keys.choice("unit", "g", {"g", "kg", "lb", "oz"});
  return [s] { return make_driver(s); };
}

}  // namespace tally::scale_serial
