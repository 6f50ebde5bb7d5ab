#pragma once
// Runs one device for the framework: opens it, watches its descriptor or polls it, reopens it with back-off after
// it disappears (a USB adapter pulled, a pty closed), reports online/offline transitions, counts dropped frames and
// filters readings through the deadband. device_error is caught here and nowhere else.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config.hpp"
#include "event_loop.hpp"
#include "report_filter.hpp"

namespace tally {

class DeviceRunner final : private ReadingSink {
 public:
  struct Hooks {
    std::function<void(const DeviceConfig&, const Reading&)> reading;
    std::function<void(const DeviceConfig&, bool online, const std::string& error)> state_changed;
  };
  DeviceRunner(DeviceConfig config, EventLoop& loop, Hooks hooks);
  ~DeviceRunner();
  DeviceRunner(const DeviceRunner&) = delete;
  DeviceRunner& operator=(const DeviceRunner&) = delete;

  void start();  // first open attempt
  void stop() noexcept;
  // Runs a device command (e.g. "tare"); `done` is called exactly once: with the device's answer, or not ok when
  // the device is offline, has no such command, is busy with another one, or does not answer within `timeout`.
  void command(std::string_view name, Driver::CommandDone done,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const DeviceConfig& config() const { return config_; }
  bool online() const { return online_.value_or(false); }
  const std::string& error() const { return error_; }
  const std::optional<Reading>& last() const { return last_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  void try_open();
  void collect();
  void went_online();
  void went_offline(const std::string& error);
  void finish_command(bool ok, std::string detail);
  void reading(Reading r) override;
  void dropped(std::string_view why) override;

  DeviceConfig config_;
  EventLoop& loop_;
  Hooks hooks_;
  std::unique_ptr<Driver> driver_;
  int watched_fd_ = -1;
  bool open_ = false;  // between a successful open() and stop()
  Timer poll_timer_, reopen_timer_, command_timer_;
  Driver::CommandDone pending_command_;
  std::chrono::milliseconds backoff_;
  std::optional<bool> online_;  // unknown until the first open attempt
  std::string error_;
  std::optional<Reading> last_;
  std::uint64_t dropped_ = 0;
  ReportFilter filter_;
};

}  // namespace tally
