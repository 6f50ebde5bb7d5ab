#pragma once
// Recipes from [[recipes]]: what a batch follows in process mode. A batch keeps its own copy of its recipe, so a
// reload that edits or removes the recipe does not change a batch already running.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tally {

enum class StepKind { weigh, hold, manual };

struct RecipeStep {
  std::string name;            // [a-z0-9_-]+ unique in the recipe; names alarms "<step>.range" etc.
  StepKind kind = StepKind::manual;
  std::string device;          // weigh and hold: a device of this station
  // weigh
  double target = 0;
  double tolerance = 0;        // absolute, in the device's unit
  // hold
  double min = 0, max = 0;
  double hold_s = 0;           // time within [min, max] the step needs
  double alarm_after_s = 10;   // out of range this long raises <step>.range
  // any kind
  std::optional<double> max_s; // the step should not run longer (alarm <step>.overrun)
};

struct Recipe {
  std::string id;
  std::string name;
  std::vector<RecipeStep> steps;
};

// The recipe step in force, as the alarm engine sees it.
struct StepRules {
  std::string key;                // "<batch>#<step_no>": changes exactly when the step changes
  std::string batch;
  RecipeStep step;
  std::chrono::steady_clock::time_point started{};  // on the monotonic clock
};

constexpr const char* to_string(StepKind kind) {
  switch (kind) {
    case StepKind::weigh: return "weigh";
    case StepKind::hold: return "hold";
    case StepKind::manual: return "manual";
  }
  return "manual";
}

}  // namespace tally
