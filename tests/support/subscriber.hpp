#pragma once
// A Paho client in the test process that subscribes (QoS 1, persistent session) and keeps every message it
// receives, so a test can wait for what a user of the broker would see.
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
  // Waits until `ready(messages)` is true or the deadline passes; returns the last answer.
  bool wait_for(const std::function<bool(const std::vector<Message>&)>& ready,
                std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;
  // Publishes (QoS 1) and waits for the broker's acknowledgement.
  void publish(const std::string& topic, const std::string& payload, bool retained = false);
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tally::test
