// Commands on B/cmd: parsed and dispatched here, answered after the commit that holds their effects, and recorded
// as `command` events. Production commands go to the Production state machine, scale.tare/zero to the device.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "station.hpp"

namespace tally {

namespace {

constexpr std::size_t max_command_bytes = 64 * 1024;
constexpr int max_command_depth = 32;

// The nesting depth of a JSON text, strings skipped: the parser recurses per level, so a hostile payload of
// [[[[...]]]] would overflow the stack before any error could be reported.
int nesting_depth(const std::string& text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

void Station::on_command(const Publisher::Command& c) {
  // Whatever arrives on B/cmd, the daemon answers and goes on: nothing in a command may stop it.
  try {
    handle_command(c);
  } catch (const std::exception& e) {
    finish_command(c, nullptr, "", nullptr, false, std::string("malformed command: ") + e.what(), {});
  }
}

void Station::handle_command(const Publisher::Command& c) {
  if (stopping_) return finish_command(c, nullptr, "", nullptr, false, "tallyd is stopping", {});
  if (c.payload.size() > max_command_bytes)
    return finish_command(c, nullptr, "", nullptr, false,
                          "malformed command: over " + std::to_string(max_command_bytes) + " bytes", {});
  if (nesting_depth(c.payload) > max_command_depth)
    return finish_command(c, nullptr, "", nullptr, false, "malformed command: nested too deeply", {});
  json request;
  try {
    request = json::parse(c.payload);
  } catch (const json::parse_error& e) {
    return finish_command(c, nullptr, "", nullptr, false, std::string("malformed command: not JSON (") + e.what() + ")", {});
  }
  if (!request.is_object()) return finish_command(c, nullptr, "", nullptr, false, "malformed command: not a JSON object", {});
  const json id = request.contains("id") ? request["id"] : json(nullptr);
  if (!request.contains("cmd") || !request["cmd"].is_string())
    return finish_command(c, id, "", nullptr, false, "malformed command: \"cmd\" (a string) is missing", {});
  const std::string cmd = request["cmd"];
  json args = request;
  args.erase("id");
  args.erase("cmd");

  if (Production::handles(cmd)) {
    Outcome o = production_.handle(cmd, args, "mqtt", std::chrono::system_clock::now());
    apply(o);
    return finish_command(c, id, cmd, args, o.ok, o.error, o.reply);
  }
  if (cmd == "scale.tare" || cmd == "scale.zero" || cmd == "device.raw") return device_command(c, id, cmd, args);
  if (cmd == "status") {
    json devices = json::object();
    for (const auto& d : devices_) devices[d->config().name] = json::parse(device_state_payload(*d));
    return finish_command(c, id, cmd, args, true, "",
                          {{"status", status_json(true)}, {"context", production_.context_payload()}, {"devices", devices}});
  }
  if (cmd == "alarm.ack") return ack_alarm(c, id, args);
  finish_command(c, id, cmd, args, false, "unknown command \"" + cmd + "\"", {});
}

void Station::device_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args) {
  const std::string name = args.contains("device") && args["device"].is_string() ? args["device"].get<std::string>() : "";
  if (name.empty()) return finish_command(c, id, cmd, args, false, cmd + " needs \"device\"", {});
  for (auto& d : devices_) {
    if (d->config().name != name) continue;
    // The answer comes later, from the device: the reply and the command event wait for it.
    // device.raw: the next reading in raw counts, uncalibrated (hx711, iio): what tallyctl calibrate needs.
    const char* driver_command = cmd == "scale.tare" ? "tare" : cmd == "scale.zero" ? "zero" : "raw";
    d->command(driver_command, [this, c, id, cmd, args, name](bool ok, std::string detail) {
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
  pending_replies_.emplace_back(c, to_text(answer));
  record_command(id, cmd, "mqtt", args, ok, error);
}

void Station::record_command(const json& id, const std::string& cmd, const std::string& source, const json& args,
                             bool ok, const std::string& error) {
  json fields{{"id", id}, {"cmd", cmd}, {"source", source}, {"ok", ok}};
  if (args.is_object() && !args.empty()) fields["args"] = args;
  if (!ok) fields["error"] = error;
  emit_event("command", fields);
  if (!ok) spdlog::info("command {} from {} refused: {}", cmd.empty() ? "(malformed)" : cmd, source, error);
}

}  // namespace tally
