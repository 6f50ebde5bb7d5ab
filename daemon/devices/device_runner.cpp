#include "devices/device_runner.hpp"

#include <spdlog/spdlog.h>

#include "api/device_error.hpp"

namespace tally {

namespace {
// The words for the device state: what the driver said, whatever it threw.
template <class Fn>
std::optional<std::string> failure_of(Fn&& fn) noexcept {
  try {
    fn();
    return std::nullopt;
  } catch (const device_error& e) {
    return std::string(e.what());
  } catch (const std::system_error& e) {  // libgpiod's C++ bindings, std::thread...
    return std::string(e.what());
  } catch (const std::exception& e) {
    return std::string("driver failed: ") + e.what();
  } catch (...) {
    return std::string("driver failed with an unknown exception");
  }
}
}  // namespace

DeviceRunner::DeviceRunner(DeviceConfig config, EventLoop& loop, Listener& listener)
    : config_(std::move(config)),
      loop_(loop),
      listener_(listener),
      driver_(config_.make()),
      poll_timer_(loop, [this] { collect(); }),
      wake_timer_(loop, [this] { collect(); }),
      reopen_timer_(loop, [this] { try_open(); }),
      command_timer_(loop,
                     [this] {
                       driver_->cancel_command();
                       finish_command(false, "no answer from the device in time");
                     }),
      drop_log_timer_(loop, [this] { log_drops(); }),
      filter_(config_.deadband, config_.publish_every_s) {}

DeviceRunner::~DeviceRunner() {
  stop();
  log_drops();  // a reload or the shutdown: the drops not logged yet are not forgotten
}

void DeviceRunner::start() { try_open(); }

void DeviceRunner::stop() noexcept {
  if (pending_command_) {
    driver_->cancel_command();
    finish_command(false, "device closed");
  }
  open_ = false;
  poll_timer_.disarm();
  wake_timer_.disarm();
  reopen_timer_.disarm();
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  watched_fd_ = -1;
  driver_->close();
}

void DeviceRunner::try_open() noexcept {
  if (auto error = failure_of([&] { driver_->open(); })) {
    driver_->close();  // a half-opened device releases what it took
    return fail(*error);
  }
  open_ = true;
  opened_at_ = std::chrono::steady_clock::now();
  if (const int fd = driver_->fd(); fd >= 0) {
    watched_fd_ = fd;
    loop_.watch(fd, [this](std::uint32_t) { collect(); });
  }
  if (const auto every = driver_->poll_interval(); every.count() > 0) poll_timer_.arm(every, every);
  if (!driver_->confirms_online()) went_online();
}

void DeviceRunner::collect() noexcept {
  if (!open_) return;  // a wake-up that raced with a failure
  if (auto error = failure_of([&] { driver_->collect(*this); })) fail(*error);
}

void DeviceRunner::fail(const std::string& error) noexcept {
  const bool was_stable = open_ && std::chrono::steady_clock::now() - opened_at_ >= stable_after;
  stop();
  if (was_stable) backoff_ = first_backoff;
  try {
    went_offline(error);
  } catch (...) {  // logging or the listener ran out of memory: the retry below still happens
  }
  reopen_timer_.arm(backoff_);
  backoff_ = std::min(backoff_ * 2, max_backoff);
}

void DeviceRunner::went_online() {
  if (online_ == true) return;
  online_ = true;
  error_.clear();
  spdlog::info("device {}: online", config_.name);
  to_station("state", [&] { listener_.state_changed(*this); });
}

void DeviceRunner::went_offline(const std::string& error) {
  error_ = error;
  if (online_ == false) return;  // report the first failure, not every retry
  online_ = false;
  spdlog::warn("device {}: offline: {}", config_.name, error);
  to_station("state", [&] { listener_.state_changed(*this); });
}

template <class Fn>
void DeviceRunner::to_station(const char* what, Fn&& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& e) {
    hook_failed(what, e.what());
  } catch (...) {
    hook_failed(what, "an unknown exception");
  }
}

void DeviceRunner::command(std::string_view name, Driver::CommandDone done, std::chrono::milliseconds timeout) {
  if (!online() || !open_) return done(false, "device " + config_.name + " is offline");
  if (pending_command_) return done(false, "device " + config_.name + " is busy with another command");
  pending_command_ = std::move(done);
  bool started = false;
  const auto error = failure_of([&] {
    started = driver_->start_command(name, [this](bool ok, std::string detail) { finish_command(ok, std::move(detail)); });
  });
  if (error) {
    finish_command(false, *error);
    return fail(*error);
  }
  if (!started) return finish_command(false, "device " + config_.name + " has no command \"" + std::string(name) + "\"");
  if (pending_command_) command_timer_.arm(timeout);
}

void DeviceRunner::finish_command(bool ok, std::string detail) {
  command_timer_.disarm();
  if (auto done = std::exchange(pending_command_, nullptr)) done(ok, std::move(detail));
}

void DeviceRunner::reading(Reading r) {
  if (online_ != true) went_online();
  backoff_ = first_backoff;  // only a device that works resets the back-off: a silent scale keeps backing off
  if (!filter_.pass(r, std::chrono::steady_clock::now())) return;
  last_ = r;
  to_station("reading", [&] { listener_.reading(config_, r); });
}

void DeviceRunner::scan(Scan s) {
  if (online_ != true) went_online();
  backoff_ = first_backoff;
  to_station("scan", [&] { listener_.scan(config_, s); });
}

void DeviceRunner::pulse(Pulse p) {
  if (online_ != true) went_online();
  backoff_ = first_backoff;
  to_station("pulse", [&] { listener_.pulse(config_, p); });
}

void DeviceRunner::dropped(std::string_view why) {
  const auto now = std::chrono::steady_clock::now();
  if (auto line = drop_log_.note(why, now)) return spdlog::warn("device {}: {}", config_.name, *line);
  if (drop_log_timer_.armed()) return;
  if (const auto due = drop_log_.next_line())
    drop_log_timer_.arm(std::max(std::chrono::ceil<std::chrono::milliseconds>(*due - now), std::chrono::milliseconds(1)));
}

// Input drives the listener: a listener failing on every frame of a flood logs at most LogLimit's lines a minute.
void DeviceRunner::hook_failed(const char* what, std::string_view error) noexcept {
  try {
    std::uint64_t suppressed = 0;
    if (hook_log_.allow(suppressed))
      spdlog::error("device {}: handling its {} failed: {}{}", config_.name, what, escape_for_log(error),
                    suppressed ? " (" + std::to_string(suppressed) + " such lines not logged before this one)" : "");
  } catch (...) {
  }
}

void DeviceRunner::log_drops() noexcept {
  drop_log_timer_.disarm();
  try {
    if (auto line = drop_log_.flush(std::chrono::steady_clock::now())) spdlog::warn("device {}: {}", config_.name, *line);
  } catch (...) {  // out of memory while logging: the count is still in the device state
  }
}

void DeviceRunner::wake_after(std::chrono::milliseconds delay) {
  if (open_) wake_timer_.arm(std::max(delay, std::chrono::milliseconds(1)));
}

}  // namespace tally
