// Commands on B/cmd: parsed and dispatched here, answered after the commit that holds their effects, and recorded
// as `command` events. Production commands go to the Production state machine, scale.tare/zero to the device.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "log_escape.hpp"
#include "station_commands.hpp"

#include "station.hpp"

namespace tally {

namespace commands {

namespace {

// The nesting depth of a JSON text, strings skipped: the parser recurses per level, so a hostile payload of
// [[[[...]]]] would overflow the stack before any error could be reported.
int nesting_depth(std::string_view text) {
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

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

}  // namespace

Decoded decode(std::string_view payload) {
  Decoded d;
  if (payload.size() > kMaxBytes) {
    d.error = "malformed command: " + std::to_string(payload.size()) + " bytes, over the limit of " +
              std::to_string(kMaxBytes);
    return d;
  }
  if (nesting_depth(payload) > kMaxDepth) {
    d.error = "malformed command: nested too deeply";
    return d;
  }
  json request = json::parse(payload.begin(), payload.end(), nullptr, false);
  if (request.is_discarded()) {
    d.error = "malformed command: not JSON";
    return d;
  }
  if (!request.is_object()) {
    d.error = "malformed command: not a JSON object";
    return d;
  }
  if (auto it = request.find("id"); it != request.end()) d.id = *it;
  const auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) {
    d.error = "malformed command: \"cmd\" (a string) is missing";
    return d;
  }
  d.cmd = cmd->get<std::string>();
  request.erase("id");
  request.erase("cmd");
  d.args = std::move(request);
  return d;
}

std::string response_topic_problem(std::string_view topic, std::string_view base) {
  if (topic.size() > 1024) return "longer than 1024 bytes";
  if (topic.empty()) return "empty";
  if (topic.find_first_of("+#") != std::string_view::npos) return "contains a wildcard ('+' or '#')";
  if (topic.find('\0') != std::string_view::npos || !valid_utf8(topic)) return "not valid UTF-8";
  if (topic.front() == '$') return "starts with '$' (reserved for the broker)";
  const std::string reply = std::string(base) + "/cmd/reply";
  const bool under_base = topic == base || (topic.size() > base.size() && topic.substr(0, base.size()) == base &&
                                            topic[base.size()] == '/');
  const bool under_reply = topic == reply || (topic.size() > reply.size() &&
                                              topic.substr(0, reply.size()) == reply && topic[reply.size()] == '/');
  if (under_base && !under_reply) return "under the station's own topics (only " + reply + " and below is allowed)";
  return {};
}

json summary(const json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() <= kSummaryString) return value;
    // Cut on a UTF-8 boundary so the event stays valid JSON text.
    std::size_t cut = kSummaryString;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) >> 6) == 0x2) --cut;
    return text.substr(0, cut) + "...(" + std::to_string(text.size()) + " bytes)";
  }
  if (value.is_array()) return "(array of " + std::to_string(value.size()) + ")";
  if (value.is_object()) {
    json out = json::object();
    std::size_t n = 0;
    for (const auto& [key, item] : value.items()) {
      if (n++ == kSummaryKeys) {
        out["..."] = std::to_string(value.size() - kSummaryKeys) + " more keys";
        break;
      }
      const std::string shown = key.size() <= kSummaryString ? key : key.substr(0, kSummaryString) + "...";
      out[shown] = item.is_object() ? json("(object of " + std::to_string(item.size()) + ")") : summary(item);
    }
    return out;
  }
  return value;
}

bool RateLimit::admit(std::chrono::steady_clock::time_point now) {
  if (last_ != std::chrono::steady_clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + std::max(elapsed, 0.0) * rate_);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool QueueBound::admit() noexcept {
  std::size_t queued = queued_.load();
  do {
    if (queued >= kMaxQueued) {
      dropped_.fetch_add(1);
      return false;
    }
  } while (!queued_.compare_exchange_weak(queued, queued + 1));
  return true;
}

void QueueBound::release() noexcept {
  std::size_t queued = queued_.load();
  while (queued > 0 && !queued_.compare_exchange_weak(queued, queued - 1)) {
  }
}

std::uint64_t QueueBound::take_dropped() noexcept { return dropped_.exchange(0); }

}  // namespace commands

void Station::on_command(const Publisher::Command& c) {
  // A flood is refused without replies (each would be one more publish) and counted in one event at a time.
  if (!command_rate_.admit(std::chrono::steady_clock::now())) {
    if (commands_limited_++ == 0) spdlog::warn("commands: more than {} a second; refusing the excess", commands::kRate);
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
  const std::uint64_t dropped = command_queue_.take_dropped();
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
  const json& id = d.id;
  const std::string& cmd = d.cmd;
  const json& args = d.args;

  if (Production::handles(cmd)) {
    Outcome o = production_.handle(cmd, args, "mqtt", std::chrono::system_clock::now());
    apply(o);
    return finish_command(c, id, cmd, args, o.ok, o.error, o.reply);
  }
  if (cmd == "scale.tare" || cmd == "scale.zero") return device_command(c, id, cmd, args);
  if (cmd == "status") {
    json devices = json::object();
    for (const auto& dev : devices_) devices[dev->config().name] = json::parse(device_state_payload(*dev));
    return finish_command(c, id, cmd, args, true, "",
                          {{"status", status_json(true)}, {"context", production_.context_payload()}, {"devices", devices}});
  }
  if (cmd == "alarm.ack") {
    const std::string alarm = args.contains("alarm") ? to_text(args["alarm"]) : "";
    return finish_command(c, id, cmd, args, false, "no active alarm " + to_text(commands::summary(alarm)), {});
  }
  finish_command(c, id, cmd, args, false, "unknown command \"" + to_text(commands::summary(cmd)).substr(1), {});
}

void Station::device_command(const Publisher::Command& c, const json& id, const std::string& cmd, const json& args) {
  const std::string name = args.contains("device") && args["device"].is_string() ? args["device"].get<std::string>() : "";
  if (name.empty()) return finish_command(c, id, cmd, args, false, cmd + " needs \"device\"", {});
  for (auto& d : devices_) {
    if (d->config().name != name) continue;
    // The answer comes later, from the device: the reply and the command event wait for it.
    d->command(cmd == "scale.tare" ? "tare" : "zero", [this, c, id, cmd, args, name](bool ok, std::string detail) {
      json reply{{"device", name}};
      if (ok && !detail.empty()) reply["detail"] = detail;
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
