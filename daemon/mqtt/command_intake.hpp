#pragma once
// Command intake: where a command enters the daemon and where its reply leaves. It subscribes B/cmd on every
// (re)connect, hands each message on B/cmd to its CommandReceiver (the station's CommandDispatch) on the loop
// thread, and sends replies through the publisher's shared window (replies, retained state and records together
// never overflow the MQTT client's queue).
//
//   link (Paho thread) --post--> Publisher (Inbox) --> CommandIntake::message --> CommandReceiver::command
//   CommandIntake::reply --> Publisher::publish_reply --> the request's response topic, else B/cmd/reply
#include <cstdint>
#include <string>

#include "mqtt/publisher.hpp"

namespace tally {

// A message on B/cmd, with its MQTT 5 response topic and correlation data (empty when absent).
struct CommandMessage {
  std::string payload;
  std::string response_topic;
  std::string correlation;
  std::size_t oversized = 0;  // the payload was too large to be read (LinkMessage::oversized): its size
};

// What receives commands (the station's CommandDispatch). Called on the loop thread; must not throw.
class CommandReceiver {
 public:
  virtual void command(const CommandMessage& message) = 0;
  virtual void commands_dropped(std::uint64_t count) = 0;  // the link dropped incoming messages (its queue full)

 protected:
  ~CommandReceiver() = default;
};

class CommandIntake final : private Publisher::Inbox {
 public:
  CommandIntake(Publisher& publisher, std::string base_topic);  // the publisher's inbox from now on
  CommandIntake(const CommandIntake&) = delete;
  CommandIntake& operator=(const CommandIntake&) = delete;

  // Messages arriving before a receiver is set are dropped: the publisher connects only once the station started.
  void deliver_to(CommandReceiver& receiver) { receiver_ = &receiver; }
  // The reply goes to the request's response topic when it has one, else to B/cmd/reply.
  void reply(const CommandMessage& to, const std::string& payload);

  const std::string& command_topic() const { return command_topic_; }

 private:
  void connected() override;
  void message(LinkMessage message) override;
  void messages_dropped(std::uint64_t count) override;

  Publisher& publisher_;
  std::string command_topic_;  // B/cmd
  std::string reply_topic_;    // B/cmd/reply
  CommandReceiver* receiver_ = nullptr;
};

}  // namespace tally
