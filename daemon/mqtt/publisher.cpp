#include "mqtt/publisher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

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
      }),
      offer_timer_(loop, [this] { offer(); }) {
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
  // Set-aside records are offered again at every reconnect (the broker's ACL may have been fixed meanwhile).
  for (auto& [topic, s] : set_aside_) {
    s.offering = false;
    s.next_offer = {};
  }
  if (!set_aside_.empty()) offer_timer_.arm(std::chrono::milliseconds(1));
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
  if (o.offer) {
    if (d.ok) offer_taken(o);
    else offer_failed(o, d.refused && o.epoch == epoch_ && connected_);
  } else if (o.seq > 0 && d.ok) {
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
  // Kept in the buffer, out of the live stream; the event says which record and why.
  if (set_aside(o.topic, o.seq, d.reason, d.why) && on_refused) on_refused(o.seq, o.topic, d.reason, d.why);
}

bool Publisher::set_aside(const std::string& topic, Seq seq, int reason, const std::string& why) {
  auto [it, fresh] = set_aside_.try_emplace(topic);
  SetAside& s = it->second;
  if (!why.empty()) {
    s.reason = reason;
    s.why = why;
  }
  // Records arrive here in seq order, except a refusal of one that was in flight when a later one was set aside.
  const auto at = std::upper_bound(s.seqs.begin(), s.seqs.end(), seq);
  if (at != s.seqs.begin() && *(at - 1) == seq) return false;
  s.seqs.insert(at, seq);
  if (fresh) {
    s.next_offer = std::chrono::steady_clock::now() + s.backoff;
    arm_offer_timer();
  }
  return true;
}

bool Publisher::is_set_aside(const std::string& topic, Seq seq) const {
  const auto it = set_aside_.find(topic);
  return it != set_aside_.end() && std::binary_search(it->second.seqs.begin(), it->second.seqs.end(), seq);
}

std::size_t Publisher::set_aside_count() const {
  std::size_t n = 0;
  for (const auto& [topic, s] : set_aside_) n += s.seqs.size();
  return n;
}

void Publisher::arm_offer_timer() {
  std::optional<std::chrono::steady_clock::time_point> next;
  for (const auto& [topic, s] : set_aside_)
    if (!s.offering && (!next || s.next_offer < *next)) next = s.next_offer;
  if (!next) return;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*next - std::chrono::steady_clock::now());
  offer_timer_.arm(std::max(wait, std::chrono::milliseconds(1)));
}

void Publisher::offer() {
  if (!connected_) return;  // the reconnect offers everything again
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::string> due;
  for (const auto& [topic, s] : set_aside_)
    if (!s.offering && s.next_offer <= now) due.push_back(topic);
  for (const auto& topic : due) {  // offer_topic may finish a topic (and erase it): looked up again each time
    const auto it = set_aside_.find(topic);
    if (it != set_aside_.end() && in_flight() < window) offer_topic(topic, it->second, 1);  // one probe a topic
  }
  arm_offer_timer();
}

// Sends up to `room` set-aside records of `topic`, oldest first. A set-aside record that overflow has dropped
// meanwhile (readings count against max_mb like any record) is no longer there to send: forgotten.
void Publisher::offer_topic(const std::string& topic, SetAside& s, std::size_t room) {
  std::size_t sent = 0;
  Seq after = 0;
  for (const auto& [token, o] : outstanding_)
    if (o.offer && o.topic == topic) after = std::max(after, o.seq);  // already in flight
  while (sent < room && in_flight() < window) {
    const auto next = std::upper_bound(s.seqs.begin(), s.seqs.end(), after);
    if (next == s.seqs.end()) break;
    const auto records = buffer_.read_after(*next - 1, 1);
    if (records.empty() || records.front().seq != *next) {
      after = *next;
      s.seqs.erase(next);
      continue;
    }
    if (!send(topic, records.front().payload, false, {}, *next, true)) break;
    s.offering = true;
    after = *next;
    ++sent;
  }
  if (s.seqs.empty()) {
    const std::uint64_t taken = s.taken;
    set_aside_.erase(topic);  // `s` is gone from here on
    if (on_resumed) on_resumed(topic, taken);
  }
}

void Publisher::offer_taken(const Outstanding& o) {
  buffer_.acknowledge(o.seq);
  const auto it = set_aside_.find(o.topic);
  if (it == set_aside_.end()) return;
  SetAside& s = it->second;
  const auto at = std::lower_bound(s.seqs.begin(), s.seqs.end(), o.seq);
  if (at != s.seqs.end() && *at == o.seq) {
    s.seqs.erase(at);
    ++s.taken;
  }
  s.backoff = offer_first_backoff;
  const bool more_in_flight = std::any_of(outstanding_.begin(), outstanding_.end(),
                                          [&](const auto& e) { return e.second.offer && e.second.topic == o.topic; });
  s.offering = more_in_flight;
  if (s.seqs.empty()) {
    const std::uint64_t taken = s.taken;
    set_aside_.erase(it);
    if (on_resumed) on_resumed(o.topic, taken);
    return;
  }
  // The broker takes this topic again: the rest follows in order, as many at a time as the window allows.
  if (connected_) offer_topic(o.topic, s, window);
}

void Publisher::offer_failed(const Outstanding& o, bool refused) {
  const auto it = set_aside_.find(o.topic);
  if (it == set_aside_.end()) return;
  SetAside& s = it->second;
  s.offering = std::any_of(outstanding_.begin(), outstanding_.end(),
                           [&](const auto& e) { return e.second.offer && e.second.topic == o.topic; });
  if (!refused) return;  // the connection went: the reconnect offers it again
  s.next_offer = std::chrono::steady_clock::now() + s.backoff;
  s.backoff = std::min(s.backoff * 2, offer_max_backoff);
  std::uint64_t suppressed = 0;
  if (refusal_log_.allow(suppressed))
    spdlog::warn("mqtt: the broker still refuses {} ({} records set aside); offering again in {} s", o.topic,
                 s.seqs.size(), std::chrono::duration_cast<std::chrono::seconds>(s.next_offer - std::chrono::steady_clock::now()).count());
  arm_offer_timer();
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
                     Seq seq, bool offer) {
  const std::uint64_t token = link_->publish(topic, payload, retain, correlation);
  if (token == 0) return false;  // the link is going down; the connection-lost path resends
  outstanding_[token] = Outstanding{epoch_, seq, topic, offer};
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
      const std::string topic = base_ + "/" + r.topic;
      // A topic with records set aside keeps its seq order: later records join them, and are offered after them.
      if (const auto s = set_aside_.find(topic); s != set_aside_.end()) {
        const int reason = s->second.reason;
        const std::string why = s->second.why;
        if (set_aside(topic, r.seq, reason, {}) && on_refused) on_refused(r.seq, topic, reason, why);
        cursor_ = r.seq;
        continue;
      }
      if (!send(topic, r.payload, false, {}, r.seq)) return;
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
  offer_timer_.disarm();
  const bool clean = link_->close(base_ + "/status", offline_status, deadline);
  connected_ = false;
  return clean;
}

}  // namespace tally
