#pragma once
// tallyctl's command line: options, the command, and the key=value arguments that become the JSON request.
// Pure functions (no I/O), so the rules are easy to read in one place.
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tallyctl {

// A mistake on the command line: exit 2 with this message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string config = "/etc/tally/tally.toml";
  bool config_given = false;          // --config was on the command line (then the file must load)
  std::optional<std::string> url;     // --url: overrides [mqtt] url
  std::optional<std::string> base;    // --base: overrides <prefix>/<station id>
  std::chrono::milliseconds timeout{10'000};
  bool help = false;
  bool version = false;
  std::string command;                // "watch" or a command name (batch.start, status, ...)
  std::vector<std::string> args;      // what follows the command
};

// Options may come before or after the command; everything else after the command is an argument. Throws UsageError.
Options parse_options(int argc, char** argv);

// `text` as a request value: a JSON number or boolean when it is exactly one, else the string itself.
nlohmann::json typed_value(std::string_view text);

// {"id": id, "cmd": command, ...} from `key=value` (typed_value) and `key:=json` (raw JSON) arguments.
// Throws UsageError for an argument without '=', an empty or repeated key, "id"/"cmd" as a key, or invalid JSON.
nlohmann::json build_request(const std::string& id, const std::string& command, const std::vector<std::string>& args);

// A topic filter a broker would accept (levels separated by '/', '+' a whole level, '#' a whole last level).
bool valid_filter(std::string_view filter);

}  // namespace tallyctl
