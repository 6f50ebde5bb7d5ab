#pragma once
// Commands on B/cmd, as the CommandIntake hands them over: rate-limited, decoded (commands/decode.hpp), answered
// from memory when retried (RememberedReplies), run (the production commands through ProductionFlow, the
// station's own table here: device commands, status, alarm.ack), recorded as `command` events, and answered after
// the commit that holds their effects: an "ok" is never sent for a change a crash could still lose.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/decode.hpp"
#include "devices/device_runner.hpp"
#include "mqtt/command_intake.hpp"
#include "production/production.hpp"
#include "station/journal.hpp"
#include "station/production_flow.hpp"
#include "station/remembered_replies.hpp"
#include "station/retained_state.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class CommandDispatch final : public CommandReceiver {
 public:
  // `devices` is the station's list of runners (replaced at a reload).
  CommandDispatch(std::string base_topic, Buffer& buffer, Journal& journal, CommandIntake& intake,
                  const Production& production, ProductionFlow& flow, StationAlarms& alarms, RetainedState& retained,
                  const std::vector<std::unique_ptr<DeviceRunner>>& devices);

  void load_remembered() { remembered_.load(); }
  // From the intake: every message on B/cmd. Whatever arrives, the daemon answers and goes on.
  void command(const CommandMessage& message) override;
  void commands_dropped(std::uint64_t count) override { dropped_ += count; }
  // The commands refused by the rate limit (and dropped by the link's queue bound) since the last note, as one
  // command.rate_limited event (called with each admitted command and every 10 s).
  void note_limited();
  void stopping() { stopping_ = true; }  // from now on every command is refused: "tallyd is stopping"
  // After a successful commit: the replies whose effects it holds go out.
  void send_replies();

 private:
  struct Request {
    const CommandMessage& message;
    const json& id;
    const std::string& cmd;
    const json& args;
  };
  void handle(const CommandMessage& message);
  // Queues the reply for the next commit, remembers it and records the command as a `command` event.
  void finish(const Request& r, bool ok, const std::string& error, const json& reply);

  // The station's own commands (the production commands are Production's table): the one list of them.
  using Handler = void (CommandDispatch::*)(const Request& r);
  struct StationCommand {
    std::string_view name;
    Handler run;
    std::string_view driver_command;  // what the device is asked for (Driver::start_command), for device commands
  };
  static std::span<const StationCommand> station_commands();
  static const StationCommand* find_station_command(std::string_view name);
  void device_command(const Request& r);
  void status_command(const Request& r);
  void alarm_ack_command(const Request& r);

  std::string base_topic_;
  Journal& journal_;
  CommandIntake& intake_;
  const Production& production_;
  ProductionFlow& flow_;
  StationAlarms& alarms_;
  RetainedState& retained_;
  const std::vector<std::unique_ptr<DeviceRunner>>& devices_;
  RememberedReplies remembered_;
  std::vector<std::pair<CommandMessage, std::string>> pending_replies_;  // until the next commit
  commands::RateLimit rate_{commands::kRate, commands::kBurst};
  std::uint64_t limited_ = 0;  // refused by the rate limit since the last command.rate_limited event
  std::uint64_t dropped_ = 0;  // dropped by the link (its queue full) since the last event
  bool stopping_ = false;
};

}  // namespace tally
