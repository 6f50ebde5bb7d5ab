#pragma once
// The parts of command handling that take outside input, pure and separate from the station so that they can be
// tested and fuzzed on their own: decoding a B/cmd payload, checking an MQTT 5 response topic, summarising a
// command for its `command` event, pacing a flood, and bounding the queue between Paho's thread and the loop.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "record/record.hpp"

namespace tally::commands {

// A command is a small JSON object; 8 KiB is far above any command of the contract (the longest carry an id, a
// batch id and a note) and far below MQTT's 256 MB or the 64 KB that once filled the buffer with command events.
constexpr std::size_t kMaxBytes = 8 * 1024;
constexpr int kMaxDepth = 32;  // nesting levels: the JSON parser recurses per level

struct Decoded {
  json id;            // null when absent or unreadable
  std::string cmd;    // empty when missing
  json args;          // the object without "id" and "cmd"
  std::string error;  // empty when the command is well formed
  bool ok() const { return error.empty(); }
};
// Never throws; every problem is an error a reply can carry.
Decoded decode(std::string_view payload);
// The error for a command of `bytes` bytes, over kMaxBytes (decode's, and the link's for one it could not read).
std::string too_large(std::size_t bytes);

// Why a command's MQTT 5 response topic must not be used, or "" when it may. Refused: wildcards ('+', '#'),
// topics starting with '$' (the broker's own), NUL or invalid UTF-8, over 1,024 bytes, and anything under the
// station's base topic `base` except base/cmd/reply and below it: a reply on B/events would inject JSON into the
// record stream under tallyd's credentials, a wildcard makes the broker disconnect tallyd.
std::string response_topic_problem(std::string_view topic, std::string_view base);

// What a `command` event records of a command's arguments or id: strings cut to 64 bytes, objects and arrays
// replaced by their size, at most 16 keys. The event says what was asked, not every byte of it.
json summary(const json& value);
constexpr std::size_t kSummaryString = 64;
constexpr std::size_t kSummaryKeys = 16;

// A token bucket: `rate` commands a second on average, bursts of `burst`. Commands over it are refused without a
// reply and counted; the station records the count in a `command.rate_limited` event.
class RateLimit {
 public:
  RateLimit(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}
  bool admit(std::chrono::steady_clock::time_point now);

 private:
  double rate_, burst_, tokens_;
  std::chrono::steady_clock::time_point last_{};
};
constexpr double kRate = 20;   // a person or a line controller sends a few a second at most
constexpr double kBurst = 50;

}  // namespace tally::commands
