#include "mqtt/publisher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tally {

Publisher::Publisher(std::unique_ptr<MqttLink> link, std::string base_topic, EventLoop& loop, Buffer& buffer)
    : link_(std::move(link)),
      base_(std::move(base_topic)),
      loop_(loop),
      buffer_(buffer),
      reconnect_timer_(loop, [this] { connect_now(); }),
      retry_timer_(loop, [this] {
        // Send again from the refused record; the records after it that were in flight go again too (consumers
        // deduplicate on seq).
        if (paused_at_ > 0 && connected_) cursor_ = std::min(cursor_, paused_at_ - 1);
        paused_at_ = 0;
        pump();
      }) {
  link_->set_events({
      [this](bool ok, const std::string& why) { on_connect_result(ok, why); },
      [this](const std::string& why) { on_lost(why); },
      [this](const Delivery& d) { on_delivery(d); },
      [this](LinkMessage m) {
        if (inbox_) inbox_->message(std::move(m));
      },
      [this](std::uint64_t count) {
        if (inbox_) inbox_->messages_dropped(count);
      },
  });
}

void Publisher::start() { connect_now(); }

void Publisher::connect_now() {
  if (stopped_ || connected_ || connecting_) return;
  connecting_ = true;
  link_->connect();
}

void Publisher::schedule_reconnect() {
  if (stopped_) return;
  reconnect_timer_.arm(backoff_);
  backoff_ = std::min(backoff_ * 2, max_backoff);
}

void Publisher::on_connect_result(bool ok, const std::string& why) {
  connecting_ = false;
  if (stopped_) return;
  if (!ok) {
    std::uint64_t suppressed = 0;
    if (failure_log_.allow(suppressed))
      spdlog::warn("mqtt: cannot connect to {} ({}); retrying in {} ms{}", link_->describe(), why, backoff_.count(),
                   suppressed ? " (" + std::to_string(suppressed) + " similar lines suppressed)" : "");
    schedule_reconnect();
    return;
  }
  spdlog::info("mqtt: connected to {}", link_->describe());
  connected_ = true;
  backoff_ = first_backoff;
  ++epoch_;
  cursor_ = 0;  // resend everything unacknowledged, oldest first
  paused_at_ = 0;
  retry_timer_.disarm();
  controls_.clear();  // state is republished below; replies to the old connection's commands are not resent
  queued_replies_ = 0;
  outstanding_.clear();  // the old connection's publishes failed with it (clean session): records go again
  if (inbox_) inbox_->connected();
  if (on_connected) on_connected();
  pump();
}

void Publisher::on_lost(const std::string& why) {
  if (!connected_) return;
  connected_ = false;
  if (stopped_) return;
  spdlog::warn("mqtt: {}; {} records buffered; reconnecting", why, buffer_.count());
  schedule_reconnect();
}

std::size_t Publisher::in_flight() const { return outstanding_.size(); }

std::size_t Publisher::records_in_flight() const {
  return static_cast<std::size_t>(
      std::count_if(outstanding_.begin(), outstanding_.end(), [](const auto& o) { return o.second.seq > 0; }));
}

void Publisher::on_delivery(const Delivery& d) {
  const auto it = outstanding_.find(d.token);
  if (it == outstanding_.end()) return;
  const Outstanding o = std::move(it->second);
  outstanding_.erase(it);
  if (o.seq > 0 && d.ok) {
    buffer_.acknowledge(o.seq);  // a PUBACK is a PUBACK, whichever connection carried it
    refusals_.erase(o.seq);
  } else if (o.seq > 0 && d.refused && o.epoch == epoch_ && connected_) {
    on_record_refused(o, d);
  } else if (o.seq > 0 && o.epoch == epoch_ && connected_) {
    // Failed while the connection stays up (Paho gave up on it): send again from it in a second.
    std::uint64_t suppressed = 0;
    if (failure_log_.allow(suppressed)) spdlog::warn("mqtt: delivery of seq {} failed ({}); resending it", o.seq, d.why);
    paused_at_ = paused_at_ == 0 ? o.seq : std::min(paused_at_, o.seq);
    cursor_ = std::min(cursor_, paused_at_ - 1);
    if (!retry_timer_.armed()) retry_timer_.arm(std::chrono::seconds(1));
  } else if (!d.ok && o.seq == 0 && d.refused) {
    std::uint64_t suppressed = 0;
    if (refusal_log_.allow(suppressed))
      spdlog::warn("mqtt: the broker refused a publish to {}: {}", o.topic, d.why);
  }
  // Any other failure is the connection going away: the reconnect resends records from the oldest.
  pump();
}

void Publisher::park(const Outstanding& o, const Delivery& d) {
  refusals_.erase(o.seq);
  if (paused_at_ == o.seq) {
    paused_at_ = 0;
    retry_timer_.disarm();
  }
  parked_topics_[o.topic] = std::chrono::steady_clock::now();
  buffer_.acknowledge(o.seq);  // out of the stream: the event says which record and why
  if (on_refused) on_refused(o.seq, o.topic, d.reason, d.why);
}

void Publisher::on_record_refused(const Outstanding& o, const Delivery& d) {
  const int refused = ++refusals_[o.seq];
  std::uint64_t suppressed = 0;
  const auto parked = parked_topics_.find(o.topic);
  if (parked != parked_topics_.end() && std::chrono::steady_clock::now() - parked->second < refused_topic_memory) {
    if (refusal_log_.allow(suppressed))
      spdlog::warn("mqtt: the broker refused seq {} on {} ({}), a topic it refuses: parked{}", o.seq, o.topic, d.why,
                   suppressed ? " (" + std::to_string(suppressed) + " similar lines suppressed)" : "");
    return park(o, d);
  }
  if (refused >= max_refusals) {
    spdlog::error("mqtt: the broker refused seq {} on {} {} times ({}); parking it with a publish.refused event",
                  o.seq, o.topic, refused, d.why);
    return park(o, d);
  }
  const auto wait = first_backoff * (1 << (refused - 1)) * 2;  // 1 s, 2 s, ...
  if (refusal_log_.allow(suppressed))
    spdlog::warn("mqtt: the broker refused seq {} on {} ({}); sending it again in {} ms{}", o.seq, o.topic, d.why,
                 wait.count(), suppressed ? " (" + std::to_string(suppressed) + " similar lines suppressed)" : "");
  // Pause the stream at the refused record so the ones after it are not delivered ahead of it meanwhile.
  paused_at_ = paused_at_ == 0 ? o.seq : std::min(paused_at_, o.seq);
  cursor_ = std::min(cursor_, paused_at_ - 1);
  retry_timer_.arm(wait);
}

bool Publisher::send(const std::string& topic, const std::string& payload, bool retain, const std::string& correlation,
                     Seq seq) {
  const std::uint64_t token = link_->publish(topic, payload, retain, correlation);
  if (token == 0) return false;  // the link is going down; the connection-lost path resends
  outstanding_[token] = Outstanding{epoch_, seq, topic};
  return true;
}

void Publisher::pump() {
  if (!connected_) return;
  while (in_flight() < window && !controls_.empty()) {
    Control c = std::move(controls_.front());
    controls_.pop_front();
    if (!c.retain) --queued_replies_;
    if (!send(c.topic, c.payload, c.retain, c.correlation, 0)) return;
  }
  while (paused_at_ == 0 && in_flight() < window && cursor_ < buffer_.last_committed_seq()) {
    auto records = buffer_.read_after(cursor_, window - in_flight());
    if (records.empty()) {  // everything after the cursor was acknowledged already
      cursor_ = buffer_.last_committed_seq();
      return;
    }
    for (auto& r : records) {
      if (!send(base_ + "/" + r.topic, r.payload, false, {}, r.seq)) return;
      cursor_ = r.seq;
    }
  }
}

void Publisher::publish_state(const std::string& topic_suffix, const std::string& payload) {
  if (!connected_) return;  // republished on the next connect
  const std::string topic = base_ + "/" + topic_suffix;
  for (auto& c : controls_)
    if (c.retain && c.topic == topic) {  // still waiting: only the latest value matters
      c.payload = payload;
      return;
    }
  controls_.push_back(Control{topic, payload, true, {}});
  pump();
}

void Publisher::subscribe(const std::string& topic) { link_->subscribe(topic); }

void Publisher::publish_reply(const std::string& topic, const std::string& payload, const std::string& correlation) {
  if (!connected_) return;
  if (queued_replies_ >= max_replies) {
    const auto oldest = std::find_if(controls_.begin(), controls_.end(), [](const Control& c) { return !c.retain; });
    if (oldest != controls_.end()) {
      controls_.erase(oldest);
      --queued_replies_;
      ++dropped_replies_;
      std::uint64_t suppressed = 0;
      if (reply_drop_log_.allow(suppressed))
        spdlog::warn("mqtt: command replies arrive faster than the broker takes them; {} dropped so far",
                     dropped_replies_);
    }
  }
  controls_.push_back(Control{topic, payload, false, correlation});
  ++queued_replies_;
  pump();
}

bool Publisher::stop(const std::string& offline_status, std::chrono::milliseconds deadline) {
  stopped_ = true;
  reconnect_timer_.disarm();
  retry_timer_.disarm();
  const bool clean = link_->close(base_ + "/status", offline_status, deadline);
  connected_ = false;
  return clean;
}

}  // namespace tally
