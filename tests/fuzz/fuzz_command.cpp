// A B/cmd payload and an MQTT 5 response topic from anyone on the broker: decoded, checked and summarised as the
// station does, never a crash. The input is "<response topic>\n<payload>".
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "log/log_escape.hpp"
#include "commands/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view topic = newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? input : input.substr(newline + 1);
  (void)tally::commands::response_topic_problem(topic, "tally/bench-1");
  const auto decoded = tally::commands::decode(payload);
  const auto summary = tally::commands::summary(decoded.args);
  (void)tally::to_text(tally::commands::summary(decoded.id));
  if (tally::to_text(summary).size() > 16 * 1024) __builtin_trap();  // a summary is small whatever came in
  (void)tally::escape_for_log(decoded.cmd);
  return 0;
}
