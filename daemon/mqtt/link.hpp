#pragma once
// The MQTT connection as the publisher sees it: connect, publish at QoS 1, subscribe, disconnect, and events that
// arrive on the event-loop thread. The one implementation over Paho is mqtt/link_paho.cpp (the only file that knows
// Paho); tests drive the publisher through a scripted fake (mqtt/fake_link.hpp).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"

namespace tally {

class EventLoop;

// A message on a subscribed topic, with its MQTT 5 response topic and correlation data (empty when absent).
struct LinkMessage {
  std::string topic;
  std::string payload;
  std::string response_topic;
  std::string correlation;
  // Non-zero: the payload was over the link's size limit and was dropped unread; this is its size. The topic, the
  // response topic and the correlation data still arrive, so that the sender can be told.
  std::size_t oversized = 0;
};

// The broker's answer to one publish. `reason` is the MQTT 5 PUBACK reason code (0 = success; >= 0x80 = the
// broker refused it, e.g. 0x87 not authorised); `refused` is true only for such a refusal, as opposed to a
// failure of the connection (then the record is resent after the reconnect).
struct Delivery {
  std::uint64_t token = 0;
  bool ok = false;
  bool refused = false;
  int reason = 0;
  std::string why;
};

class MqttLink {
 public:
  // Called on the event-loop thread, in the order things happened.
  struct Events {
    std::function<void(bool ok, const std::string& why)> connect_result;
    std::function<void(const std::string& why)> lost;
    std::function<void(const Delivery&)> delivered;
    std::function<void(LinkMessage)> message;
    // Incoming messages the link dropped (too many or too large waiting for the loop) since the last call.
    std::function<void(std::uint64_t count)> messages_dropped;
  };
  virtual ~MqttLink() = default;
  virtual void set_events(Events events) = 0;
  // "tcp://host:port as client-id", for log lines.
  virtual std::string describe() const = 0;
  // Starts one connection attempt; the result comes as connect_result. Never throws.
  virtual void connect() = 0;
  // QoS 1. Returns a token that its Delivery names, or 0 when the message could not even be queued (the link is
  // going down: treat as not sent).
  virtual std::uint64_t publish(const std::string& topic, const std::string& payload, bool retain,
                                const std::string& correlation = {}) = 0;
  virtual void subscribe(const std::string& topic) = 0;
  // Publishes `last_topic`/`last_payload` retained (the offline status) and disconnects, within `deadline`.
  // Returns false when a connection attempt was still in flight at the deadline: the caller must then leave with
  // std::_Exit (Paho C++ 1.2 crashes when such a client is destroyed, bug #453).
  virtual bool close(const std::string& last_topic, const std::string& last_payload,
                     std::chrono::milliseconds deadline) = 0;
};

// The Paho implementation. `will_topic`/`will_payload` are published retained by the broker if we vanish.
std::unique_ptr<MqttLink> make_paho_link(const MqttConfig& config, const std::string& will_topic,
                                         const std::string& will_payload, EventLoop& loop);

}  // namespace tally
