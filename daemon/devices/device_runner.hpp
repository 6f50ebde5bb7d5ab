#pragma once
// Runs one device for the framework: opens it, watches its descriptor or polls it, wakes it when it asked to be,
// reopens it with back-off after it disappears (a USB adapter pulled, a pty closed), reports online/offline
// transitions, counts dropped frames and filters readings through the deadband (scans and pulses always pass).
// Whatever a driver throws (device_error, libgpiod's std::system_error, anything else) is caught here and nowhere
// else: the device goes offline with the error in its state and is retried with back-off. No spin, no exit.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "loop/event_loop.hpp"
#include "log/log_limit.hpp"
#include "devices/report_filter.hpp"

namespace tally {

class DeviceRunner final : private InputSink {
 public:
  // What the runner hands on, on the loop thread: the station's InputRouter. It must not throw; if it does, the
  // runner logs it and goes on (the driver is not blamed).
  class Listener {
   public:
    virtual void reading(const DeviceConfig& device, const Reading& r) = 0;  // passed the deadband
    virtual void scan(const DeviceConfig& device, const Scan& s) = 0;
    virtual void pulse(const DeviceConfig& device, const Pulse& p) = 0;
    // Went online or offline: online(), error() and config() say how.
    virtual void state_changed(const DeviceRunner& device) = 0;

   protected:
    ~Listener() = default;
  };
  DeviceRunner(DeviceConfig config, EventLoop& loop, Listener& listener);
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
  std::uint64_t dropped() const { return drop_log_.total(); }

  // Back-off between reopen attempts: from first_backoff, doubling to max_backoff. It starts again from the first
  // once the device has produced input or stayed open for stable_after.
  static constexpr std::chrono::milliseconds first_backoff{250};
  static constexpr std::chrono::milliseconds max_backoff{5000};
  static constexpr std::chrono::seconds stable_after{10};

 private:
  void try_open() noexcept;
  void collect() noexcept;
  void fail(const std::string& error) noexcept;  // close, report offline, schedule a reopen
  void went_online();
  void went_offline(const std::string& error);
  void finish_command(bool ok, std::string detail);
  void log_drops() noexcept;
  // A driver hook (open, gather, a command) threw something other than device_error: logged with the hook's name
  // and treated as a device failure, so a driver bug cannot take the loop down.
  void hook_failed(const char* what, std::string_view error) noexcept;
  template <class Fn>
  void to_station(const char* what, Fn&& fn) noexcept;
  // InputSink, for the driver
  void reading(Reading r) override;
  void scan(Scan s) override;
  void pulse(Pulse p) override;
  void dropped(std::string_view why) override;
  void wake_after(std::chrono::milliseconds delay) override;

  DeviceConfig config_;
  EventLoop& loop_;
  Listener& listener_;
  std::unique_ptr<Driver> driver_;
  int watched_fd_ = -1;
  bool open_ = false;  // between a successful open() and stop()
  std::chrono::steady_clock::time_point opened_at_{};
  Timer poll_timer_, wake_timer_, reopen_timer_, command_timer_, drop_log_timer_;
  Driver::CommandDone pending_command_;
  std::chrono::milliseconds backoff_ = first_backoff;
  std::optional<bool> online_;  // unknown until the first open attempt
  std::string error_;
  std::optional<Reading> last_;
  // Noise can arrive 100,000 times a second: the first drop is logged, then at most a line a minute with the
  // count since the last line, by reason (a timer logs the summary still owed when the drops stop).
  DropLog drop_log_;
  LogLimit hook_log_;
  ReportFilter filter_;
};

}  // namespace tally
