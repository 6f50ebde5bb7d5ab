#pragma once
// The driver contract. A driver knows its device and nothing else: the framework (DeviceRunner) owns the event
// loop, opens and reopens, stamps context, filters and buffers. A driver either hands the loop a file descriptor to
// watch (a serial port, an evdev node, a GPIO line's event fd) or asks to be polled at an interval (SPI, simulated),
// and collect() turns whatever is ready into readings.
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "reading.hpp"

namespace tally {

class TableReader;

// Where a driver's output goes. Bad frames are data, not exceptions: they are counted through dropped().
class ReadingSink {
 public:
  virtual ~ReadingSink() = default;
  virtual void reading(Reading r) = 0;
  virtual void dropped(std::string_view why) = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Opens the device. Throws device_error (with errno) when it is absent or unusable; the runner retries with
  // back-off.
  virtual void open() = 0;
  virtual void close() noexcept = 0;
  // A descriptor to watch for input, or -1. Valid between open() and close().
  virtual int fd() const noexcept { return -1; }
  // How often to call collect() without input; zero for fd-driven drivers.
  virtual std::chrono::milliseconds poll_interval() const noexcept { return std::chrono::milliseconds{0}; }
  // Reads what is ready (never blocks). Throws device_error when the device is gone (unplugged, EIO, hang-up).
  virtual void collect(ReadingSink& sink) = 0;

  // Device commands ("tare", "zero"). The driver sends the request and calls `done` exactly once, normally from
  // collect() when the device answers (ok, or not ok with the device's reason). Returns false, without calling
  // `done`, when the driver has no such command. The runner allows one command at a time and calls
  // cancel_command() when the answer does not come in time.
  using CommandDone = std::function<void(bool ok, std::string detail)>;
  virtual bool start_command(std::string_view /*name*/, CommandDone /*done*/) { return false; }
  virtual void cancel_command() noexcept {}

  // True when an open port does not yet mean the device is there (request/response protocols such as a polled
  // scale): the runner then reports the device online only once it has produced a reading.
  virtual bool confirms_online() const noexcept { return false; }
};

using DriverFactory = std::function<std::unique_ptr<Driver>()>;

// One row of the driver registry: the name used in `driver = "..."` and a function that reads the driver's own
// keys from its [[devices]] table (reporting problems with positions) and returns a factory holding the settings.
struct DriverSpec {
  std::string_view name;
  std::string_view summary;
  DriverFactory (*configure)(TableReader& keys);
};

std::span<const DriverSpec> driver_registry();
const DriverSpec* find_driver(std::string_view name);

}  // namespace tally
