#pragma once
// [[scan_rules]] and what a scan means to the station: the scan record's fields, the production command it drives
// (from the first matching rule, or from the fallbacks of shared/PRODUCT.md) and whether it is refused outright.
// Pure: the station applies the decision (station_input.cpp), so every branch is tested here without a daemon.
#include <nlohmann/json.hpp>

#include <regex>
#include <string>
#include <vector>

#include "record/context.hpp"
#include "api/input.hpp"
#include "outputs/outputs.hpp"

namespace tally::scan {

using json = nlohmann::json;

struct ScanRule {
  std::string pattern;               // ECMAScript, searched in the code (GS as ASCII 29); anchor it with ^...$
  std::regex re;
  std::string action;                // a production command: batch.start, work_order.start, operator.set, ...
  std::vector<std::string> fields;   // capture group i+1 fills the command's field fields[i]
};

// What the station knows when a scan arrives.
struct ScanSituation {
  Mode mode = Mode::process;
  bool work_order_active = false;  // discrete mode
  bool weighing = false;           // process mode: the current step is a weigh step
};

struct ScanDecision {
  json record;        // code, symbology?, gs1?, valid, reason?, action? (the station adds device and context)
  std::string cmd;    // empty: only recorded
  json args = json::object();
  bool valid = true;  // false: refused at once (bad check digit, malformed GS1), no command
};

// The operator's signal for a scan: accepted when the code is valid and the command it drove (if any) was taken;
// refused when the code is invalid or its command was refused (a duplicate serial, a batch already running).
inline OutputPattern feedback_pattern(const ScanDecision& d, bool command_ok) {
  return d.valid && (d.cmd.empty() || command_ok) ? OutputPattern::accepted : OutputPattern::refused;
}

// Fields whose captured text is a whole number in the command ("target"): captured digits become a JSON integer
// there; everywhere else a capture stays text, so a serial "000123" keeps its zeros.
bool numeric_field(const std::string& field);

ScanDecision interpret(const Scan& s, const std::vector<ScanRule>& rules, const ScanSituation& situation);

// Why `pattern` is not acceptable as a scan-rule pattern (empty when it is): longer than 1,024 characters, groups
// nested deeper than kMaxNesting, or not a valid ECMAScript regular expression. `column` is set to the 1-based
// position in the pattern where the problem is, when there is one.
inline constexpr int kMaxNesting = 8;
inline constexpr std::size_t kMaxPattern = 1024;
std::string pattern_problem(const std::string& pattern, std::size_t& column);

}  // namespace tally::scan
