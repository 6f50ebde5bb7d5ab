#pragma once
// The driver contract. A driver knows its device and nothing else: the framework owns the rest. The runner
// (daemon/devices/device_runner.cpp) owns the event loop's watch, opens and reopens with back-off and applies the
// deadband; the station (daemon/station/) stamps the context and hands the record to the buffer. A driver either hands the loop a file descriptor to
// watch (a serial port, an evdev node, a GPIO line's event fd) or asks to be polled at an interval (SPI, simulated),
// and collect() turns whatever is ready into input for the sink.
//
//   open()    -> throws device_error when the device is absent or unusable; the runner retries with back-off
//   fd()      -> a descriptor to watch, or -1          poll_interval() -> how often to collect() without input
//   collect() -> reads what is ready, never blocks; throws device_error when the device is gone
//   close()   -> never throws
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "input.hpp"

namespace tally {

class TableReader;

// Where a driver's input goes, and the driver's way to ask for a wake-up. Bad frames are data, not exceptions:
// they are counted through dropped().
class InputSink {
 public:
  virtual ~InputSink() = default;
  virtual void reading(Reading r) = 0;
  virtual void scan(Scan s) = 0;
  virtual void pulse(Pulse p) = 0;
  virtual void dropped(std::string_view why) = 0;
  // Calls collect() once more after `delay`, whether or not input arrives (a debounce window closing, a scanner's
  // inter-key timeout, an ADC not ready yet). Asking again replaces the earlier request; it ends with close().
  virtual void wake_after(std::chrono::milliseconds delay) = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual void open() = 0;
  virtual void close() noexcept = 0;
  // A descriptor to watch for input, or -1. Read after every open().
  virtual int fd() const noexcept { return -1; }
  // How often to call collect() without input; zero for fd-driven drivers. Read after every open().
  virtual std::chrono::milliseconds poll_interval() const noexcept { return std::chrono::milliseconds{0}; }
  virtual void collect(InputSink& sink) = 0;

  // Device commands ("tare", "zero"). The driver sends the request and calls `done` exactly once, normally from
  // collect() when the device answers (ok, or not ok with the device's reason). Returns false, without calling
  // `done`, when the driver has no such command. The runner allows one command at a time and calls
  // cancel_command() when the answer does not come in time.
  using CommandDone = std::function<void(bool ok, std::string detail)>;
  virtual bool start_command(std::string_view /*name*/, CommandDone /*done*/) { return false; }
  virtual void cancel_command() noexcept {}

  // True when an open port does not yet mean the device is there (request/response protocols such as a polled
  // scale): the runner then reports the device online only once it has produced input.
  virtual bool confirms_online() const noexcept { return false; }
};

using DriverFactory = std::function<std::unique_ptr<Driver>()>;

// One row of the driver registry: the name used in `driver = "..."` and a function that reads the driver's own
// keys from its [[devices]] table (reporting problems with positions) and returns a factory holding the settings.
// The common keys (name, driver, stale_s, publish_every_s, deadband, feedback) are read by the framework.
struct DriverSpec {
  std::string_view name;
  std::string_view summary;
  DriverFactory (*configure)(TableReader& keys);
};

std::span<const DriverSpec> driver_registry();
const DriverSpec* find_driver(std::string_view name);

}  // namespace tally
