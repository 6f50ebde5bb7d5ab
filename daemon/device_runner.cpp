#include "device_runner.hpp"

#include <spdlog/spdlog.h>

#include "errors.hpp"

namespace tally {

namespace {
// A pulled USB adapter usually comes back within seconds; a missing one should not cost more than an open() every
// few seconds.
constexpr std::chrono::milliseconds first_backoff{250};
constexpr std::chrono::milliseconds max_backoff{5000};
}  // namespace

DeviceRunner::DeviceRunner(DeviceConfig config, EventLoop& loop, Hooks hooks)
    : config_(std::move(config)),
      loop_(loop),
      hooks_(std::move(hooks)),
      driver_(config_.make()),
      poll_timer_(loop, [this] { collect(); }),
      reopen_timer_(loop, [this] { try_open(); }),
      command_timer_(loop,
                     [this] {
                       driver_->cancel_command();
                       finish_command(false, "no answer from the device in time");
                     }),
      backoff_(first_backoff),
      filter_(config_.deadband, config_.publish_every_s) {}

DeviceRunner::~DeviceRunner() { stop(); }

void DeviceRunner::start() { try_open(); }

void DeviceRunner::stop() noexcept {
  if (pending_command_) {
    driver_->cancel_command();
    finish_command(false, "device closed");
  }
  open_ = false;
  poll_timer_.disarm();
  reopen_timer_.disarm();
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
  watched_fd_ = -1;
  driver_->close();
}

void DeviceRunner::try_open() {
  try {
    driver_->open();
  } catch (const device_error& e) {
    went_offline(e.what());
    reopen_timer_.arm(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    return;
  }
  open_ = true;
  if (const int fd = driver_->fd(); fd >= 0) {
    watched_fd_ = fd;
    loop_.watch(fd, [this](std::uint32_t) { collect(); });
  }
  if (const auto every = driver_->poll_interval(); every.count() > 0) poll_timer_.arm(every, every);
  if (!driver_->confirms_online()) went_online();
}

void DeviceRunner::went_online() {
  backoff_ = first_backoff;  // only a device that works resets the back-off: a silent scale keeps backing off
  if (online_ == true) return;
  online_ = true;
  error_.clear();
  spdlog::info("device {}: online", config_.name);
  hooks_.state_changed(config_, true, {});
}

void DeviceRunner::collect() {
  try {
    driver_->collect(*this);
  } catch (const device_error& e) {
    stop();
    went_offline(e.what());
    reopen_timer_.arm(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
  }
}

void DeviceRunner::went_offline(const std::string& error) {
  if (online_ == false) return;  // report the first failure, not every retry
  online_ = false;
  error_ = error;
  spdlog::warn("device {}: offline: {}", config_.name, error);
  hooks_.state_changed(config_, false, error);
}

void DeviceRunner::command(std::string_view name, Driver::CommandDone done, std::chrono::milliseconds timeout) {
  if (!online() || !open_) return done(false, "device " + config_.name + " is offline");
  if (pending_command_) return done(false, "device " + config_.name + " is busy with another command");
  pending_command_ = std::move(done);
  const bool started = driver_->start_command(name, [this](bool ok, std::string detail) {
    finish_command(ok, std::move(detail));
  });
  if (!started) return finish_command(false, "device " + config_.name + " has no command \"" + std::string(name) + "\"");
  if (pending_command_) command_timer_.arm(timeout);
}

void DeviceRunner::finish_command(bool ok, std::string detail) {
  command_timer_.disarm();
  if (auto done = std::exchange(pending_command_, nullptr)) done(ok, std::move(detail));
}

void DeviceRunner::reading(Reading r) {
  if (online_ != true) went_online();
  if (!filter_.pass(r, std::chrono::steady_clock::now())) return;
  last_ = r;
  hooks_.reading(config_, r);
}

void DeviceRunner::dropped(std::string_view why) {
  ++dropped_;
  // Noise can arrive thousands of times a second: log the first and then every 1000th.
  if (dropped_ == 1 || dropped_ % 1000 == 0)
    spdlog::warn("device {}: dropped input ({}); {} dropped so far", config_.name, why, dropped_);
}

}  // namespace tally
