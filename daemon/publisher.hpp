#pragma once
// The publisher: sends committed records from the buffer to the broker, in seq order, at QoS 1, with at most
// `window` unacknowledged at a time, and acknowledges each one in the buffer (which deletes it) only on PUBACK.
//
// Paho runs its callbacks on its own thread; they never block and never touch our state: they post to the event
// loop. No Paho file persistence and no automatic reconnect (both lose or duplicate work, see
// shared/reference/mqtt-and-libraries.md): SQLite is the only queue, and on every (re)connect sending restarts
// from the oldest unacknowledged record. A consumer may see a record twice after a reconnect and deduplicates on
// (station, seq); it never misses one.
#include <mqtt/async_client.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "buffer.hpp"
#include "config.hpp"
#include "event_loop.hpp"

namespace tally {

class Publisher {
 public:
  // `will_payload` is published retained on B/status by the broker if we vanish.
  Publisher(const MqttConfig& mqtt, std::string base_topic, std::string will_payload, EventLoop& loop,
            Buffer& buffer);
  ~Publisher();  // disconnects (bounded wait) if still connected; never throws

  void start();  // first connection attempt; failures retry with back-off
  void pump();   // hands committed records to Paho until the window is full; call after Buffer::commit()
  // State topics (retained, latest value): best effort, not part of the record stream. Republished by the owner on
  // every (re)connect through on_connected.
  void publish_state(const std::string& topic_suffix, const std::string& payload);
  void clear_state(const std::string& topic_suffix);  // deletes a retained message (empty payload)
  // Publishes `offline_status` retained on B/status and disconnects, within `deadline`. Returns false when a
  // connection attempt was still in flight at the deadline: Paho C++ 1.2 crashes when such a client is destroyed
  // (bug #453), so the caller must then leave without running destructors (std::_Exit).
  bool stop(const std::string& offline_status, std::chrono::milliseconds deadline);

  bool connected() const { return connected_; }
  // Everything committed has been acknowledged.
  bool drained() const { return inflight_.empty() && buffer_.count() == 0; }

  std::function<void()> on_connected;  // runs on the loop thread after each successful (re)connect

  // Commands: every message on B/cmd, handed to the loop thread with its MQTT 5 response topic and correlation
  // data (empty when the request had none).
  struct Command {
    std::string payload;
    std::string response_topic;
    std::string correlation;
  };
  std::function<void(const Command&)> on_command;
  // The reply goes to the request's response topic when it has one, else to B/cmd/reply. Best effort: a reply
  // lost to a disconnect is not resent (the command event in the record stream says what happened).
  void reply(const Command& to, const std::string& payload);

 private:
  class Listener;
  void connect_now();
  void on_connect_result(bool ok, const std::string& why);
  void on_lost(const std::string& why);
  void on_delivery(Seq seq, std::uint64_t epoch, bool ok, int rc);
  void schedule_reconnect();

  MqttConfig config_;
  std::string base_;
  EventLoop& loop_;
  Buffer& buffer_;
  mqtt::async_client client_;
  mqtt::connect_options options_;
  mqtt::token_ptr connect_token_;  // the attempt in flight, waited for at stop
  std::unique_ptr<Listener> connect_listener_, publish_listener_;
  Timer reconnect_timer_;
  // A delivery that fails while connected (the broker refused it, Paho gave up) is retried from its seq after a
  // pause: not at once, so a record the broker keeps refusing cannot spin the loop.
  Timer retry_timer_;
  Seq retry_from_ = 0;  // lowest failed seq waiting for the retry timer; 0 = none
  std::chrono::milliseconds backoff_{500};
  bool connected_ = false, connecting_ = false, stopped_ = false;
  std::uint64_t epoch_ = 0;       // bumps on every new connection; stale deliveries are recognised by it
  Seq cursor_ = 0;                // highest seq handed to Paho on this connection
  std::set<Seq> inflight_;
  static constexpr std::size_t window_ = 20;  // mosquitto's Receive Maximum; also the fastest window measured
};

}  // namespace tally
