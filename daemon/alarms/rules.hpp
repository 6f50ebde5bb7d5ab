#pragma once
// What the configuration says about alarms: the always-on [[alarms]] limits and the [[notify]] targets
// (docs/alarms.md). Plain data, read by alarms_config.cpp, used by the engine and the notifier.
#include <optional>
#include <string>

namespace tally {

enum class Severity { info = 0, warning = 1, critical = 2 };

constexpr const char* to_string(Severity s) {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "warning";
}
std::optional<Severity> severity_from(const std::string& name);

// One [[alarms]] table: a limit on one device's readings.
constexpr double kDefaultClearAfterS = 5;

struct AlarmRule {
  std::string id;                 // the alarm's id: [a-z0-9_.-]{1,64}
  std::string device;
  std::optional<double> above;    // raises while value > above
  std::optional<double> below;    // raises while value < below
  double for_s = 0;               // the condition must hold this long before the alarm is raised
  double deadband = 0;            // and it clears only once the value is back beyond the limit by this much
  Severity severity = Severity::warning;
  std::string output;             // optional [[outputs]] name held on while active and unacknowledged
  // Once raised, it clears only when the value has stayed back beyond the deadband this long (an off-delay): a
  // value dithering around its limit raises once and stays raised, rather than raising and clearing many times a
  // second (98 transitions in 10 s were seen with deadband = 0, each pushed).
  double clear_after_s = kDefaultClearAfterS;
};

enum class NotifyFormat { webhook, ntfy };

// One [[notify]] table: where pushes go. The URL is a secret (it often carries a token): it comes from a file or a
// systemd credential, never from the configuration itself.
struct NotifyTarget {
  std::string name;               // "notify[1]" unless named; keys the durable queue across restarts
  std::string url;
  Severity min_severity = Severity::warning;
  NotifyFormat format = NotifyFormat::webhook;
  double timeout_s = 10;
};

}  // namespace tally
