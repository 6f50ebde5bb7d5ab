#pragma once
// A Paho client in the test process that subscribes (QoS 1, persistent session) and keeps every message it
// receives, so a test can wait for what a user of the broker would see.
//
// - MQTT 3.1.1, clean_session=false, no file persistence, Paho's automatic reconnect (1 s retry interval), after
//   which it subscribes again. Measured with Paho C 1.3.11 here: reconnecting after Broker::stop()/start() takes
//   ~4 s (wait with connected() and a 10 s deadline), and every further Paho client in the same process takes
//   ~2 s to connect (known Paho C issue, eclipse-paho/paho.mqtt.c#1430): prefer ONE Subscriber per
//   test, it can publish too.
// - A re-subscribe makes the broker send the retained messages on the filter again (with
//   retained=true): after a broker restart expect retained messages twice; live messages arrive with retained=false.
// - With a persistent Broker, QoS 1 messages published while this subscriber was disconnected are queued in its
//   session and delivered on reconnect. Two Subscribers must not share a client_id (the broker kicks the older one).
// - Paho messages lost during an automatic reconnect (Paho bug #384) are possible in principle: if a test must see
//   every message across a restart, assert on content (ids), not only on counts.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tally::test {

struct Message {
  std::string topic;
  std::string payload;
  bool retained = false;
};

class Subscriber {
 public:
  // Connects with clean_session=false under `client_id` and subscribes to `filter` at QoS 1; reconnects by itself
  // after a broker restart. Throws if it cannot connect within 10 s.
  Subscriber(const std::string& url, const std::string& filter, const std::string& client_id = "test-sub");
  ~Subscriber();

  std::vector<Message> messages() const;                      // a copy, in arrival order
  std::vector<Message> on(const std::string& topic) const;    // those with exactly this topic
  // Waits until `ready(messages)` is true or the deadline passes; returns the last answer. Re-checked on every
  // arrival, under the lock (the predicate may call messages()/on(); keep it cheap for bulk tests).
  bool wait_for(const std::function<bool(const std::vector<Message>&)>& ready,
                std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;
  // Publishes (QoS 1) and waits for the broker's acknowledgement.
  void publish(const std::string& topic, const std::string& payload, bool retained = false);
  void clear();
  bool connected() const;  // e.g. wait_until([&] { return sub.connected(); }) after a broker restart

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tally::test
