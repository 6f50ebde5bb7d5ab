#pragma once
// [[scan_rules]] and what a scan means to the station: the scan record's fields, the production command it drives
// (from the first matching rule, or from the fallbacks of shared/PRODUCT.md) and whether it is refused outright.
// Pure: the station applies the decision (station/input_router.cpp), so every branch is tested here without a daemon.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "record/context.hpp"
#include "api/input.hpp"
#include "outputs/outputs.hpp"

namespace re2 {
class RE2;
}

namespace tally::scan {

using json = nlohmann::json;

// A compiled scan-rule pattern. RE2, not std::regex: RE2 matches in time linear in the code whatever the pattern,
// where std::regex backtracks (`^([A-Z0-9]+-?)+$` against 30 characters and a `!` stalled the event loop 15 s).
// Shared because a compiled RE2 is immutable and safe to match from any thread; a Config is copied on reload.
using Pattern = std::shared_ptr<const re2::RE2>;

struct ScanRule {
  std::string pattern;               // RE2 syntax, searched in the code (GS as ASCII 29); anchor it with ^...$
  Pattern re;                        // compile_pattern(pattern)
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
// nested deeper than kMaxNesting, or not valid RE2 syntax (RE2's own message, with a hint for what ECMAScript has
// and RE2 has not: backreferences, lookahead and lookbehind). `column` is set to the 1-based position in the
// pattern where the problem is, when there is one.
inline constexpr int kMaxNesting = 8;
inline constexpr std::size_t kMaxPattern = 1024;
std::string pattern_problem(const std::string& pattern, std::size_t& column);

// The compiled pattern; nullptr when pattern_problem() would say why not.
Pattern compile_pattern(const std::string& pattern);
// The number of capture groups of a compiled pattern (0 for nullptr).
std::size_t capture_groups(const Pattern& re);

}  // namespace tally::scan
