#include "mqtt/command_intake.hpp"

namespace tally {

CommandIntake::CommandIntake(Publisher& publisher, std::string base_topic)
    : publisher_(publisher), command_topic_(base_topic + "/cmd"), reply_topic_(base_topic + "/cmd/reply") {
  publisher_.set_inbox(*this);
}

void CommandIntake::connected() { publisher_.subscribe(command_topic_); }

void CommandIntake::message(LinkMessage m) {
  // B/cmd is the link's only subscription: every message is a command.
  if (!receiver_) return;
  receiver_->command(
      CommandMessage{std::move(m.payload), std::move(m.response_topic), std::move(m.correlation), m.oversized});
}

void CommandIntake::messages_dropped(std::uint64_t count) {
  if (receiver_) receiver_->commands_dropped(count);
}

void CommandIntake::reply(const CommandMessage& to, const std::string& payload) {
  publisher_.publish_reply(to.response_topic.empty() ? reply_topic_ : to.response_topic, payload, to.correlation);
}

}  // namespace tally
