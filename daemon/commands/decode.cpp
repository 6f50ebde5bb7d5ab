// The pure parts of command handling (commands/decode.hpp): no station, no MQTT, so that they can be tested and
// fuzzed on their own.
#include <algorithm>

#include "commands/decode.hpp"

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

std::string too_large(std::size_t bytes) {
  return "malformed command: " + std::to_string(bytes) + " bytes, over the limit of " + std::to_string(kMaxBytes);
}

Decoded decode(std::string_view payload) {
  Decoded d;
  if (payload.size() > kMaxBytes) {
    d.error = too_large(payload.size());
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

}  // namespace commands

}  // namespace tally
