#pragma once
// For tests: the broker as the publisher sees it. Every publish is kept until the test answers it; connects,
// subscriptions and incoming messages are the test's to script. Used by the mqtt room's tests and the station's.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "mqtt/link.hpp"

namespace tally::test {

struct FakeLink final : MqttLink {
  struct Sent {
    std::uint64_t token;
    std::string topic, payload;
    bool retain;
    std::string correlation;
  };
  Events events;
  std::vector<Sent> sent;              // every publish, in order
  std::map<std::uint64_t, Sent> open;  // not yet answered
  int connects = 0;
  std::vector<std::string> subscriptions;
  std::uint64_t next = 0;

  void set_events(Events e) override { events = std::move(e); }
  std::string describe() const override { return "fake://broker as test"; }
  void connect() override { ++connects; }
  std::uint64_t publish(const std::string& topic, const std::string& payload, bool retain,
                        const std::string& correlation) override {
    Sent s{++next, topic, payload, retain, correlation};
    sent.push_back(s);
    open[s.token] = s;
    return s.token;
  }
  void subscribe(const std::string& topic) override { subscriptions.push_back(topic); }
  bool close(const std::string&, const std::string&, std::chrono::milliseconds) override { return true; }

  void accept_connect() { events.connect_result(true, ""); }
  void lose() { events.lost("test cut the connection"); }
  // A message on a subscribed topic, as the link hands it to the loop.
  void deliver(std::string topic, std::string payload, std::string response_topic = {}, std::string correlation = {}) {
    events.message(LinkMessage{std::move(topic), std::move(payload), std::move(response_topic), std::move(correlation)});
  }
  void ack(std::uint64_t token) {
    open.erase(token);
    events.delivered(Delivery{token, true, false, 0, ""});
  }
  void refuse(std::uint64_t token, int reason = 0x87) {
    open.erase(token);
    events.delivered(Delivery{token, false, true, reason, "reason 135 (Not authorized)"});
  }
  void ack_all() {
    while (!open.empty()) ack(open.begin()->first);
  }
  std::vector<long long> record_seqs_sent() const {
    std::vector<long long> out;
    for (const auto& s : sent)
      if (s.topic.find("/readings/") != std::string::npos) out.push_back(std::stoll(s.payload.substr(7)));
    return out;
  }
  std::size_t open_records() const {
    return static_cast<std::size_t>(std::count_if(open.begin(), open.end(), [](const auto& o) {
      return o.second.topic.find("/readings/") != std::string::npos;
    }));
  }
  // Every publish to `topic`, in order.
  std::vector<Sent> sent_to(const std::string& topic) const {
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.topic == topic) out.push_back(s);
    return out;
  }
};

}  // namespace tally::test
