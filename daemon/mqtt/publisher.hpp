#pragma once
// The publisher: sends committed records from the buffer to the broker, in seq order, at QoS 1, and acknowledges
// each one in the buffer (which deletes it) only on PUBACK. Command replies and retained state share the same
// window of unacknowledged publishes, so a burst of commands cannot overflow the MQTT client's own queue.
//
//   pump(): replies and state first (they are small and a person is waiting), then records, oldest first, while
//           fewer than `window` publishes are unacknowledged.
//   PUBACK -> Buffer::acknowledge(seq).   Connection lost -> reconnect with back-off, resend from the oldest.
//   Refused by the broker (MQTT 5 reason >= 0x80) -> the stream pauses and the record is retried with back-off;
//   after max_refusals it is SET ASIDE: kept in the buffer (never deleted for being refused: an ACL mistake is
//   fixable, a lost hour of batch temperatures is not), taken out of the live stream with a `publish.refused` event
//   (on_refused), and the records after it go on. Once a topic has had a record set aside, further refusals on that
//   topic within refused_topic_memory set aside at once, and every later record of a topic that has records set
//   aside joins them unsent, so that they arrive in seq order within their topic.
//   Set-aside records are offered again, oldest first, one probe per topic with back-off (offer_first_backoff
//   doubling to offer_max_backoff, so at least once a minute) and at once after every reconnect. When the broker
//   takes one, the rest of the topic follows in order, and on_resumed reports {topic, count} once the topic has
//   nothing set aside any more.
//
// A consumer may see a record twice after a reconnect or a retry and deduplicates on (station, seq); it never
// misses one. Everything runs on the event-loop thread; the MqttLink posts its events there.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "buffer/buffer.hpp"
#include "loop/event_loop.hpp"
#include "log/log_limit.hpp"
#include "mqtt/link.hpp"

namespace tally {

class Publisher {
 public:
  Publisher(std::unique_ptr<MqttLink> link, std::string base_topic, EventLoop& loop, Buffer& buffer);

  void start();  // first connection attempt; failures retry with back-off
  void pump();   // hands queued publishes to the link until the window is full; call after Buffer::commit()
  // State topics (retained, latest value): not part of the record stream. Dropped while disconnected: the owner
  // republishes everything through on_connected.
  void publish_state(const std::string& topic_suffix, const std::string& payload);
  void clear_state(const std::string& topic_suffix) { publish_state(topic_suffix, ""); }
  // Publishes `offline_status` retained on B/status and disconnects, within `deadline`. Returns false when the
  // caller must leave with std::_Exit (see MqttLink::close).
  bool stop(const std::string& offline_status, std::chrono::milliseconds deadline);

  bool connected() const { return connected_; }
  // Everything committed has been acknowledged.
  // Everything committed has been acknowledged, or is set aside (waiting for the broker to take its topic).
  bool drained() const {
    return records_in_flight() == 0 && static_cast<std::size_t>(buffer_.count()) <= set_aside_count();
  }
  std::size_t set_aside_count() const;  // records set aside, on every topic

  std::function<void()> on_connected;  // after each successful (re)connect
  // A record the broker refused max_refusals times, now taken out of the stream: the owner records
  // `publish.refused` and raises the alarm. `reason` is the MQTT 5 reason code.
  std::function<void(Seq seq, const std::string& topic, int reason, const std::string& why)> on_refused;
  // (on_refused also names the records that join a topic's set-aside records unsent, with the topic's last refusal.)
  // Every record set aside on `topic` has now been taken by the broker: `count` of them since it was first refused.
  std::function<void(const std::string& topic, std::uint64_t count)> on_resumed;

  // Where messages on subscribed topics go (the command intake, mqtt/command_intake.hpp), on the loop thread: told
  // of each new connection (before on_connected) so that it subscribes again, then handed each message.
  class Inbox {
   public:
    virtual void connected() = 0;
    virtual void message(LinkMessage message) = 0;
    virtual void messages_dropped(std::uint64_t count) = 0;  // the link dropped incoming messages (its queue full)

   protected:
    ~Inbox() = default;
  };
  void set_inbox(Inbox& inbox) { inbox_ = &inbox; }
  void subscribe(const std::string& topic);
  // A reply to a command, on `topic` with the request's correlation data. Queued behind the window that records
  // and state share; at most max_replies wait (the oldest is dropped beyond that, and counted). A reply lost to a
  // disconnect is not resent: the command event in the record stream says what happened.
  void publish_reply(const std::string& topic, const std::string& payload, const std::string& correlation);

  static constexpr std::size_t window = 20;  // mosquitto's Receive Maximum; also the fastest window measured
  static constexpr int max_refusals = 3;
  static constexpr std::size_t max_replies = 4096;  // ~100 bytes each
  static constexpr std::chrono::milliseconds first_backoff{500};
  static constexpr std::chrono::milliseconds max_backoff{30'000};
  static constexpr std::chrono::minutes refused_topic_memory{10};
  static constexpr std::chrono::milliseconds offer_first_backoff{5'000};
  static constexpr std::chrono::milliseconds offer_max_backoff{60'000};

 private:
  struct Outstanding {
    std::uint64_t epoch;
    Seq seq;             // 0 for replies and state
    std::string topic;
    bool offer = false;  // a set-aside record offered again
  };
  struct Control {        // a reply or a state publish waiting for the window
    std::string topic;
    std::string payload;
    bool retain;         // state (retained, coalesced per topic) rather than a reply
    std::string correlation;
  };
  void connect_now();
  void on_connect_result(bool ok, const std::string& why);
  void on_lost(const std::string& why);
  void on_delivery(const Delivery& d);
  void on_record_refused(const Outstanding& o, const Delivery& d);
  void park(const Outstanding& o, const Delivery& d);
  // Set-aside records of one topic: seqs in order (almost always appended), the probe in flight, the back-off.
  struct SetAside {
    std::vector<Seq> seqs;
    bool offering = false;  // a record of it is in flight as an offer
    std::chrono::milliseconds backoff{offer_first_backoff};
    std::chrono::steady_clock::time_point next_offer{};
    std::uint64_t taken = 0;
    int reason = 0;         // the broker's last refusal of the topic, for records that join it unsent
    std::string why;
  };
  // Returns false when `seq` was set aside already.
  bool set_aside(const std::string& topic, Seq seq, int reason, const std::string& why);
  bool is_set_aside(const std::string& topic, Seq seq) const;
  void offer();                          // the topics whose offer is due
  void offer_topic(const std::string& topic, SetAside& s, std::size_t room);
  void offer_taken(const Outstanding& o);
  void offer_failed(const Outstanding& o, bool refused);
  void arm_offer_timer();
  void schedule_reconnect();
  std::size_t in_flight() const;
  std::size_t records_in_flight() const;
  bool send(const std::string& topic, const std::string& payload, bool retain, const std::string& correlation, Seq seq,
            bool offer = false);

  std::unique_ptr<MqttLink> link_;
  Inbox* inbox_ = nullptr;
  std::string base_;
  EventLoop& loop_;
  Buffer& buffer_;
  Timer reconnect_timer_;
  Timer retry_timer_;       // a refused record waits here before it is sent again
  Timer offer_timer_;       // the next offer of set-aside records
  std::map<std::string, SetAside> set_aside_;  // by full topic
  std::chrono::milliseconds backoff_ = first_backoff;
  bool connected_ = false, connecting_ = false, stopped_ = false;
  std::uint64_t epoch_ = 0;  // bumps on every new connection; stale deliveries are recognised by it
  Seq cursor_ = 0;           // highest seq handed to the link on this connection
  std::unordered_map<std::uint64_t, Outstanding> outstanding_;  // by link token
  std::deque<Control> controls_;
  std::size_t queued_replies_ = 0;
  Seq paused_at_ = 0;        // a refused record being retried: no record is sent until it is
  std::map<Seq, int> refusals_;
  std::map<std::string, std::chrono::steady_clock::time_point> parked_topics_;  // topic -> when it last parked one
  std::uint64_t dropped_replies_ = 0;
  LogLimit refusal_log_, failure_log_, reply_drop_log_{1};  // reply drops: one line a minute, with the total
};

}  // namespace tally
