// Commands on B/cmd: parsed and dispatched here, answered after the commit that holds their effects, and recorded
// as `command` events. Production commands go to the Production state machine, scale.tare/zero to the device.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "log/log_escape.hpp"
#include "commands/decode.hpp"

#include "station/station.hpp"

namespace tally {


void Station::on_command(const Publisher::Command& c) {
  // A flood is refused: each command over the rate gets a short error reply (the MQTT link paces replies like
  // records) and changes nothing; none gets its own `command` event, they are counted in one command.rate_limited
  // event at a time, so a flood cannot fill the buffer.
  if (!command_rate_.admit(std::chrono::steady_clock::now())) {
    if (commands_limited_++ == 0) spdlog::warn("commands: more than {} a second; refusing the excess", commands::kRate);
    const commands::Decoded d = commands::decode(c.payload);
    Publisher::Command safe = c;
    if (!c.response_topic.empty() && !commands::response_topic_problem(c.response_topic, config_.base_topic()).empty())
      safe.response_topic.clear();
    pending_replies_.emplace_back(safe, to_text(json{{"id", commands::summary(d.id)}, {"ok", false},
                                                     {"error", "rate limited: over " + std::to_string(int(commands::kRate)) +
                                                                   " commands a second"}}));
    return;
  }
  note_limited_commands();
  // Whatever arrives on B/cmd, the daemon answers and goes on: nothing in a command may stop it.
  try {
    handle_command(c);
  } catch (const std::exception& e) {
    finish_command(c, nullptr, "", nullptr, false, std::string("malformed command: ") + e.what(), {});
  }
}

// The commands refused by the rate limit (and dropped by the queue bound) since the last note, as one event.
void Station::note_limited_commands() {
  const std::uint64_t dropped = std::exchange(commands_dropped_, 0);
  if (commands_limited_ == 0 && dropped == 0) return;
  emit_event("command.rate_limited", {{"refused", commands_limited_}, {"queue_dropped", dropped},
                                      {"rate", commands::kRate}, {"burst", commands::kBurst}});
  spdlog::warn("commands: {} refused over the rate limit, {} dropped with the queue full", commands_limited_, dropped);
  commands_limited_ = 0;
}

void Station::handle_command(const Publisher::Command& c) {
  if (!c.response_topic.empty()) {
    if (const auto problem = commands::response_topic_problem(c.response_topic, config_.base_topic());
        !problem.empty()) {
      Publisher::Command safe = c;
      safe.response_topic.clear();  // the error goes to B/cmd/reply
      return finish_command(safe, nullptr, "", nullptr, false, "response topic refused: " + problem, {});
    }
  }
  if (stopping_) return finish_command(c, nullptr, "", nullptr, false, "tallyd is stopping", {});
  commands::Decoded d = commands::decode(c.payload);
  if (!d.ok()) return finish_command(c, d.id, d.cmd, nullptr, false, d.error, {});
  // A retried command (same id) gets its first reply again and changes nothing.
  if (const std::string key = remembered_key(d.id, d.cmd); !key.empty()) {
    if (const auto saved = buffer_.get_state(key)) {
      const std::string answer = saved->substr(std::min(saved->find(' ') + 1, saved->size()));
      pending_replies_.emplace_back(c, answer);
      const json first = json::parse(answer, nullptr, false);
      json fields{{"id", commands::summary(d.id)}, {"cmd", commands::summary(d.cmd)}, {"source", "mqtt"},
                  {"ok", first.is_object() && first.value("ok", false)}, {"repeated", true}};
      emit_event("command", fields);
      return;
    }
  }
  const json& id = d.id;
  const std::string& cmd = d.cmd;
  const json& args = d.args;

  if (Production::handles(cmd)) {
    Outcome o = production_.handle(cmd, args, "mqtt", std::chrono::system_clock::now());
    apply(o);
    return finish_command(c, id, cmd, args, o.ok, o.error, o.reply);
  }
  if (const StationCommand* command = find_station_command(cmd)) return (this->*command->run)(c, id, cmd, args);
  finish_command(c, id, cmd, args, false, "unknown command \"" + to_text(commands::summary(cmd)).substr(1), {});
}

std::span<const Station::StationCommand> Station::station_commands() {
  static const StationCommand table[] = {
      {"scale.tare", &Station::device_command, "tare"},
      {"scale.zero", &Station::device_command, "zero"},
      // The next reading in raw counts, uncalibrated (hx711, iio): what tallyctl calibrate needs.
      {"device.raw", &Station::device_command, "raw"},
      {"status", &Station::status_command, ""},
      {"alarm.ack", &Station::ack_alarm, ""},
  };
  return table;
}

const Station::StationCommand* Station::find_station_command(std::string_view name) {
  for (const auto& command : station_commands())
    if (command.name == name) return &command;
  return nullptr;
}

void Station::status_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args) {
  json devices = json::object();
  for (const auto& dev : devices_) devices[dev->config().name] = json::parse(device_state_payload(*dev));
  finish_command(c, id, cmd, args, true, "",
                 {{"status", status_json(true)}, {"context", production_.context_payload()}, {"devices", devices}});
}

void Station::device_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args) {
  const std::string name = args.contains("device") && args["device"].is_string() ? args["device"].get<std::string>() : "";
  if (name.empty()) return finish_command(c, id, cmd, args, false, cmd + " needs \"device\"", {});
  for (auto& d : devices_) {
    if (d->config().name != name) continue;
    // The answer comes later, from the device: the reply and the command event wait for it.
    d->command(std::string(find_station_command(cmd)->driver_command), [this, c, id, cmd, args, name](bool ok, std::string detail) {
      json reply{{"device", name}};
      if (ok && cmd == "device.raw") reply["raw"] = json::parse(detail, nullptr, false);
      else if (ok && !detail.empty()) reply["detail"] = detail;
      finish_command(c, id, cmd, args, ok, ok ? "" : detail, reply);
    });
    return;
  }
  finish_command(c, id, cmd, args, false, "unknown device \"" + name + "\"", {});
}

void Station::finish_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args,
                             bool ok, const std::string& error, const json& reply) {
  json answer{{"id", id}, {"ok", ok}};
  if (ok) {
    for (const auto& [key, value] : reply.items()) answer[key] = value;
  } else {
    answer["error"] = error;
  }
  std::string text = to_text(answer);
  remember_reply(remembered_key(id, cmd), text);
  pending_replies_.emplace_back(c, std::move(text));
  record_command(id, cmd, "mqtt", args, ok, error);
}

// Commands with an id (a string or an integer of at most 128 characters) are remembered with their reply, in the
// buffer's state table beside the effects they had (one row each, committed in the same transaction), so that a
// client retrying after a lost reply does not count a unit twice. "status" changes nothing and is not remembered.
std::string Station::remembered_key(const json& id, const std::string& cmd) {
  if (cmd.empty() || cmd == "status" || !(id.is_string() || id.is_number_integer())) return {};
  std::string text = to_text(id);
  if (text.size() > 128) return {};
  return kRememberedPrefix + text;
}

void Station::load_remembered_replies() {
  std::vector<std::pair<std::int64_t, std::string>> saved;
  for (const auto& [key, value] : buffer_.states_with_prefix(kRememberedPrefix))
    saved.emplace_back(std::atoll(value.c_str()), key);
  std::sort(saved.begin(), saved.end());
  for (auto& [ms, key] : saved) remembered_.emplace_back(ms, std::move(key));
}

void Station::remember_reply(const std::string& key, const std::string& answer) {
  if (key.empty()) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  buffer_.put_state(key, std::to_string(now) + " " + answer);
  remembered_.emplace_back(now, key);
  const std::int64_t too_old = now - std::chrono::duration_cast<std::chrono::milliseconds>(kRememberFor).count();
  while (!remembered_.empty() && (remembered_.size() > kRememberedReplies || remembered_.front().first < too_old)) {
    // An id seen again is in the deque twice: only erase the row when this entry is its latest.
    const auto& [ms, old] = remembered_.front();
    if (old != key) buffer_.erase_state(old);
    remembered_.pop_front();
  }
}

void Station::record_command(const json& id, const std::string& cmd, const std::string& source, const json& args,
                             bool ok, const std::string& error) {
  // A summary, not the whole payload: a command event is never much bigger than the command's name.
  json fields{{"id", commands::summary(id)}, {"cmd", commands::summary(cmd)}, {"source", source}, {"ok", ok}};
  if (args.is_object() && !args.empty()) fields["args"] = commands::summary(args);
  if (!ok) fields["error"] = error.size() <= 256 ? error : error.substr(0, 256) + "...";
  emit_event("command", fields);
  if (!ok)
    spdlog::info("command {} from {} refused: {}", cmd.empty() ? "(malformed)" : escape_for_log(cmd, 64),
                 escape_for_log(source, 64), escape_for_log(error));
}

}  // namespace tally
