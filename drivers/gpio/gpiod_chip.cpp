// The real GPIO chip: a thin wrapper over libgpiod 1.6's C++ bindings (Debian 12 / Raspberry Pi OS Bookworm).
// libgpiod throws std::system_error with errno; it is translated to device_error here so the runner logs what the
// kernel said (ENOENT: no such chip/line, EBUSY: another process holds the line, EACCES: not in group gpio).
#include <gpiod.hpp>

#include <cerrno>
#include <charconv>

#include "device_error.hpp"
#include "gpio.hpp"

namespace tally::gpio {

namespace {

std::bitset<32> flags(Bias bias, bool active_low) {
  std::bitset<32> f;
  if (active_low) f |= gpiod::line_request::FLAG_ACTIVE_LOW;
  switch (bias) {
    case Bias::as_is: break;
    case Bias::disabled: f |= gpiod::line_request::FLAG_BIAS_DISABLE; break;
    case Bias::pull_up: f |= gpiod::line_request::FLAG_BIAS_PULL_UP; break;
    case Bias::pull_down: f |= gpiod::line_request::FLAG_BIAS_PULL_DOWN; break;
  }
  return f;
}

template <class Fn>
auto translated(const std::string& what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::system_error& e) {
    throw device_error(e.code().value(), what + ": " + e.what());
  }
}

class GpiodLine final : public Line {
 public:
  GpiodLine(gpiod::line line, std::string what) : line_(std::move(line)), what_(std::move(what)) {}
  // Releasing the request hands the line back to the kernel; an output keeps the level it was last set to, which
  // is why the outputs set their inactive level before they let go.
  ~GpiodLine() override {
    try {
      line_.release();
    } catch (...) {
    }
  }
  bool get() override { return translated(what_, [&] { return line_.get_value() != 0; }); }
  void set(bool active) override { translated(what_, [&] { line_.set_value(active ? 1 : 0); }); }
  int event_fd() const override { return line_.event_get_fd(); }
  std::vector<LineEvent> read_events() override {
    std::vector<LineEvent> out;
    translated(what_, [&] {
      // event_read_multiple() reads what the kernel queued (up to 16); event_wait(0) keeps it from blocking.
      while (line_.event_wait(std::chrono::nanoseconds(0)))
        for (const auto& e : line_.event_read_multiple())
          out.push_back({e.event_type == gpiod::line_event::RISING_EDGE, e.timestamp});
    });
    return out;
  }

 private:
  gpiod::line line_;
  std::string what_;
};

class GpiodChip final : public Chip {
 public:
  explicit GpiodChip(const std::string& name)
      : name_(name), chip_(translated("GPIO chip " + name, [&] { return gpiod::chip(name, gpiod::chip::OPEN_LOOKUP); })) {
    // OPEN_LOOKUP tries the name, the path, the label and the number, and leaves the chip closed when none fits.
    if (!chip_) throw device_error(ENOENT, "GPIO chip " + name + ": no chip by that name, path, label or number");
  }

  std::unique_ptr<Line> request_input(const std::string& line, Bias bias, bool active_low) override {
    return request(line, {gpiod::line_request::DIRECTION_INPUT, bias, active_low}, 0);
  }
  std::unique_ptr<Line> request_output(const std::string& line, bool active_low, bool initial) override {
    return request(line, {gpiod::line_request::DIRECTION_OUTPUT, Bias::as_is, active_low}, initial ? 1 : 0);
  }
  std::unique_ptr<Line> request_events(const std::string& line, Edge edge, Bias bias, bool active_low) override {
    const int type = edge == Edge::rising    ? gpiod::line_request::EVENT_RISING_EDGE
                     : edge == Edge::falling ? gpiod::line_request::EVENT_FALLING_EDGE
                                             : gpiod::line_request::EVENT_BOTH_EDGES;
    return request(line, {type, bias, active_low}, 0);
  }

 private:
  struct Kind {
    int type;
    Bias bias;
    bool active_low;
  };
  gpiod::line find(const std::string& line) {
    unsigned offset = 0;
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), offset);
    if (ec == std::errc() && end == line.data() + line.size()) {
      if (offset >= chip_.num_lines())
        throw device_error(EINVAL, "GPIO " + name_ + " line " + line + ": the chip has lines 0.." +
                                       std::to_string(chip_.num_lines() - 1));
      return chip_.get_line(offset);
    }
    gpiod::line found = chip_.find_line(line);  // the device tree's gpio-line-names, e.g. "GPIO17"
    if (!found) throw device_error(ENOENT, "GPIO " + name_ + ": no line named \"" + line + "\"");
    return found;
  }
  std::unique_ptr<Line> request(const std::string& line, Kind kind, int initial) {
    const std::string what = "GPIO " + name_ + " line " + line;
    return translated(what, [&] {
      gpiod::line l = find(line);
      l.request({consumer, kind.type, flags(kind.bias, kind.active_low)}, initial);
      return std::make_unique<GpiodLine>(std::move(l), what);
    });
  }

  std::string name_;
  gpiod::chip chip_;
};

}  // namespace

std::unique_ptr<Chip> open_chip(const std::string& chip) { return std::make_unique<GpiodChip>(chip); }

}  // namespace tally::gpio
