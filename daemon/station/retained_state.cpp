#include "station/retained_state.hpp"

#include "version.hpp"

namespace tally {

RetainedState::RetainedState(Publisher& publisher, Buffer& buffer, const Production& production)
    : publisher_(publisher), buffer_(buffer), production_(production), since_(std::chrono::system_clock::now()) {}

json RetainedState::status(bool online) const {
  json status{{"online", online}};
  if (online) {
    status["version"] = version;
    status["since"] = format_ts(since_);
    status["buffered"] = buffer_.count();
  }
  return status;
}

std::string RetainedState::offline_status() { return to_text(json{{"online", false}}); }

void RetainedState::publish_status() {
  status_buffered_ = buffer_.count();
  publisher_.publish_state("status", to_text(status(true)));
}

void RetainedState::refresh_status() {
  if (buffer_.count() != status_buffered_) publish_status();
}

void RetainedState::publish_context() {
  std::string payload = to_text(production_.context_payload());
  if (payload == published_context_) return;
  published_context_ = std::move(payload);
  publisher_.publish_state("context", published_context_);
}

json RetainedState::device_state(const DeviceRunner& d) {
  json state{{"online", d.online()}};
  if (!d.online() && !d.error().empty()) state["error"] = d.error();
  if (const auto& last = d.last()) {
    state["last_ts"] = format_ts(last->ts);
    state["last_value"] = last->value ? json(*last->value) : json(nullptr);
  }
  if (d.dropped() > 0) state["dropped"] = d.dropped();
  return state;
}

void RetainedState::publish_device_state(const DeviceRunner& d) {
  publisher_.publish_state("devices/" + d.config().name + "/state", to_text(device_state(d)));
}

void RetainedState::add_to_recent(const std::string& device, const Reading& r) {
  if (!r.value) return;
  RecentSeries& series = recent_[device];
  series.describe(r.quantity, r.unit);
  if (series.add(r.ts, *r.value)) publish_recent(device);
}

void RetainedState::publish_recent(const std::string& device) {
  publisher_.publish_state("devices/" + device + "/recent", to_text(recent_.at(device).summary(device)));
}

void RetainedState::forget_device(const std::string& device) {
  publisher_.clear_state("devices/" + device + "/state");
  publisher_.clear_state("devices/" + device + "/recent");
  recent_.erase(device);
}

void RetainedState::restore_batch_last() {
  if (const auto saved = buffer_.get_state("batches/last")) batch_last_ = *saved;
}

void RetainedState::batch_ended(std::string record) {
  batch_last_ = std::move(record);
  buffer_.put_state("batches/last", batch_last_);
  batch_last_unpublished_ = true;
}

void RetainedState::committed() {
  if (batch_last_unpublished_) publisher_.publish_state("batches/last", batch_last_);
  batch_last_unpublished_ = false;
}

void RetainedState::republish(const std::vector<std::unique_ptr<DeviceRunner>>& devices) {
  publish_status();
  published_context_.clear();  // a new connection gets the context again
  publish_context();
  for (const auto& d : devices) publish_device_state(*d);
  for (const auto& [device, series] : recent_) publish_recent(device);
  if (!batch_last_.empty()) publisher_.publish_state("batches/last", batch_last_);
}

}  // namespace tally
