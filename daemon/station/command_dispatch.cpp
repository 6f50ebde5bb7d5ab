#include "station/command_dispatch.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace tally {

CommandDispatch::CommandDispatch(std::string base_topic, Buffer& buffer, Journal& journal, CommandIntake& intake,
                                 const Production& production, ProductionFlow& flow, StationAlarms& alarms,
                                 RetainedState& retained, const std::vector<std::unique_ptr<DeviceRunner>>& devices)
    : base_topic_(std::move(base_topic)),
      journal_(journal),
      intake_(intake),
      production_(production),
      flow_(flow),
      alarms_(alarms),
      retained_(retained),
      devices_(devices),
      remembered_(buffer) {}

void CommandDispatch::command(const CommandMessage& c) {
  // A flood is refused: each command over the rate gets a short error reply (the MQTT link paces replies like
  // records) and changes nothing; none gets its own `command` event, they are counted in one command.rate_limited
  // event at a time, so a flood cannot fill the buffer.
  if (!rate_.admit(std::chrono::steady_clock::now())) {
    if (limited_++ == 0) spdlog::warn("commands: more than {} a second; refusing the excess", commands::kRate);
    const commands::Decoded d = commands::decode(c.payload);
    CommandMessage safe = c;
    if (!c.response_topic.empty() && !commands::response_topic_problem(c.response_topic, base_topic_).empty())
      safe.response_topic.clear();
    pending_replies_.emplace_back(
        safe, to_text(json{{"id", commands::summary(d.id)},
                           {"ok", false},
                           {"error", "rate limited: over " + std::to_string(int(commands::kRate)) + " commands a second"}}));
    return;
  }
  note_limited();
  // Whatever arrives on B/cmd, the daemon answers and goes on: nothing in a command may stop it.
  try {
    handle(c);
  } catch (const std::exception& e) {
    const json no_id;
    const std::string no_cmd;
    finish({c, no_id, no_cmd, no_id}, false, std::string("malformed command: ") + e.what(), {});
  }
}

void CommandDispatch::note_limited() {
  const std::uint64_t dropped = std::exchange(dropped_, 0);
  if (limited_ == 0 && dropped == 0) return;
  journal_.event("command.rate_limited", {{"refused", limited_}, {"queue_dropped", dropped},
                                          {"rate", commands::kRate}, {"burst", commands::kBurst}});
  spdlog::warn("commands: {} refused over the rate limit, {} dropped with the queue full", limited_, dropped);
  limited_ = 0;
}

void CommandDispatch::handle(const CommandMessage& c) {
  const json no_id;
  const std::string no_cmd;
  if (!c.response_topic.empty()) {
    if (const auto problem = commands::response_topic_problem(c.response_topic, base_topic_); !problem.empty()) {
      CommandMessage safe = c;
      safe.response_topic.clear();  // the error goes to B/cmd/reply
      return finish({safe, no_id, no_cmd, no_id}, false, "response topic refused: " + problem, {});
    }
  }
  if (stopping_) return finish({c, no_id, no_cmd, no_id}, false, "tallyd is stopping", {});
  // Too large to be read at all: the id is unknown, but the sender is told (on its response topic, or B/cmd/reply).
  if (c.oversized > 0) return finish({c, no_id, no_cmd, no_id}, false, commands::too_large(c.oversized), {});
  const commands::Decoded d = commands::decode(c.payload);
  if (!d.ok()) return finish({c, d.id, d.cmd, no_id}, false, d.error, {});
  // A retried command (same id) gets its first reply again and changes nothing.
  if (const auto first = remembered_.find(RememberedReplies::key(d.id, d.cmd))) {
    pending_replies_.emplace_back(c, *first);
    const json reply = json::parse(*first, nullptr, false);
    journal_.event("command", {{"id", commands::summary(d.id)}, {"cmd", commands::summary(d.cmd)}, {"source", "mqtt"},
                               {"ok", reply.is_object() && reply.value("ok", false)}, {"repeated", true}});
    return;
  }
  const Request r{c, d.id, d.cmd, d.args};
  if (Production::handles(d.cmd)) {
    const Outcome o = flow_.run(d.cmd, d.args, "mqtt", std::chrono::system_clock::now());
    return finish(r, o.ok, o.error, o.reply);
  }
  if (const StationCommand* command = find_station_command(d.cmd)) return (this->*command->run)(r);
  finish(r, false, "unknown command \"" + to_text(commands::summary(d.cmd)).substr(1), {});
}

std::span<const CommandDispatch::StationCommand> CommandDispatch::station_commands() {
  static const StationCommand table[] = {
      {"scale.tare", &CommandDispatch::device_command, "tare"},
      {"scale.zero", &CommandDispatch::device_command, "zero"},
      // The next reading in raw counts, uncalibrated (hx711, iio): what tallyctl calibrate needs.
      {"device.raw", &CommandDispatch::device_command, "raw"},
      {"status", &CommandDispatch::status_command, ""},
      {"alarm.ack", &CommandDispatch::alarm_ack_command, ""},
  };
  return table;
}

const CommandDispatch::StationCommand* CommandDispatch::find_station_command(std::string_view name) {
  for (const auto& command : station_commands())
    if (command.name == name) return &command;
  return nullptr;
}

void CommandDispatch::status_command(const Request& r) {
  json devices = json::object();
  for (const auto& dev : devices_) devices[dev->config().name] = RetainedState::device_state(*dev);
  finish(r, true, "",
         {{"status", retained_.status(true)}, {"context", production_.context_payload()}, {"devices", devices}});
}

void CommandDispatch::device_command(const Request& r) {
  const json& args = r.args;
  const std::string name = args.contains("device") && args["device"].is_string() ? args["device"].get<std::string>() : "";
  if (name.empty()) return finish(r, false, r.cmd + " needs \"device\"", {});
  for (auto& d : devices_) {
    if (d->config().name != name) continue;
    // The answer comes later, from the device: the reply and the command event wait for it (the request's parts
    // are copied: the message they refer to is gone by then).
    d->command(std::string(find_station_command(r.cmd)->driver_command),
               [this, c = r.message, id = r.id, cmd = r.cmd, args = r.args, name](bool ok, std::string detail) {
                 json reply{{"device", name}};
                 if (ok && cmd == "device.raw") reply["raw"] = json::parse(detail, nullptr, false);
                 else if (ok && !detail.empty()) reply["detail"] = detail;
                 finish({c, id, cmd, args}, ok, ok ? "" : detail, reply);
               });
    return;
  }
  finish(r, false, "unknown device \"" + name + "\"", {});
}

void CommandDispatch::alarm_ack_command(const Request& r) {
  const json& args = r.args;
  if (!args.contains("alarm") || !args["alarm"].is_string() || args["alarm"].get<std::string>().empty())
    return finish(r, false, "alarm.ack needs \"alarm\" (an alarm id)", {});
  std::string by = production_.context().operator_id;
  if (args.contains("by")) {
    if (!args["by"].is_string() || args["by"].get<std::string>().empty())
      return finish(r, false, "\"by\" must be a non-empty string", {});
    by = args["by"];
  }
  const std::string alarm = args["alarm"];
  if (const std::string error = alarms_.acknowledge(alarm, by); !error.empty()) return finish(r, false, error, {});
  json reply{{"alarm", alarm}, {"state", "acknowledged"}};
  if (!by.empty()) reply["by"] = by;
  finish(r, true, "", reply);
}

void CommandDispatch::finish(const Request& r, bool ok, const std::string& error, const json& reply) {
  json answer{{"id", r.id}, {"ok", ok}};
  if (ok) {
    for (const auto& [key, value] : reply.items()) answer[key] = value;
  } else {
    answer["error"] = error;
  }
  std::string text = to_text(answer);
  remembered_.remember(RememberedReplies::key(r.id, r.cmd), text);
  pending_replies_.emplace_back(r.message, std::move(text));
  journal_.command(r.id, r.cmd, "mqtt", r.args, ok, error);
}

void CommandDispatch::send_replies() {
  for (const auto& [message, answer] : pending_replies_) intake_.reply(message, answer);
  pending_replies_.clear();
}

}  // namespace tally
