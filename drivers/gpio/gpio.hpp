#pragma once
// The GPIO seam: the few things Tally's drivers and outputs do with a GPIO line, behind an interface whose real
// implementation (gpiod_chip.cpp) is a thin wrapper over libgpiod 1.6's C++ bindings, and whose fakes
// (fake_gpio.hpp) stand in where this machine has no /dev/gpiochip*. Values are LOGICAL: with active_low the
// kernel inverts them (and swaps rising/falling edges), so drivers never think about the wiring.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace tally {
class TableReader;
}

namespace tally::gpio {

enum class Edge { rising, falling, both };
enum class Bias { as_is, disabled, pull_up, pull_down };

// One edge as the kernel reported it. `timestamp` is on CLOCK_MONOTONIC (steady_clock on Linux), taken by the
// kernel in the interrupt handler: the time to debounce on, not the time we got around to reading it.
struct LineEvent {
  bool rising = false;  // the line became active
  std::chrono::nanoseconds timestamp{0};
};

class Line {
 public:
  virtual ~Line() = default;
  virtual bool get() = 0;             // the logical value
  virtual void set(bool active) = 0;  // outputs only
  // Edge lines: a descriptor that is readable while events are queued, and the queued events (never blocks).
  virtual int event_fd() const { return -1; }
  virtual std::vector<LineEvent> read_events() { return {}; }
};

// `line` is a line number ("17") or a line name from the device tree ("GPIO17"): see line_key().
class Chip {
 public:
  virtual ~Chip() = default;
  virtual std::unique_ptr<Line> request_input(const std::string& line, Bias bias, bool active_low) = 0;
  virtual std::unique_ptr<Line> request_output(const std::string& line, bool active_low, bool initial) = 0;
  virtual std::unique_ptr<Line> request_events(const std::string& line, Edge edge, Bias bias, bool active_low) = 0;
};

// The real chip through libgpiod: `chip` is a name ("gpiochip0"), a path ("/dev/gpiochip4"), a number or a label
// ("pinctrl-rp1", the Pi 5's header; "pinctrl-bcm2835"/"pinctrl-bcm2711" on earlier Pis). Throws device_error.
std::unique_ptr<Chip> open_chip(const std::string& chip);

// The consumer name the kernel shows in gpioinfo for every line Tally holds.
inline constexpr const char* consumer = "tallyd";

// Reads a line key that may be a number (`line = 17`) or a device-tree line name (`line = "GPIO17"`), returning
// it as text ("17" or "GPIO17"); empty (and a problem reported) when missing or of another type.
std::string line_key(TableReader& keys, const std::string& key);
std::string line_key_or(TableReader& keys, const std::string& key, const std::string& fallback);

}  // namespace tally::gpio
