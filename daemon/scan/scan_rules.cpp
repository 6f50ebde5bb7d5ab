#include "scan/scan_rules.hpp"

#include <re2/re2.h>

#include <algorithm>

#include "scan/gs1.hpp"

namespace tally::scan {

namespace {

bool whole_number(const std::string& s) {
  return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

RE2::Options pattern_options() {
  RE2::Options o;
  o.set_log_errors(false);  // a bad pattern is a config error with a position, not a line on stderr
  return o;
}

// What a person who wrote an ECMAScript (or PCRE) pattern needs to hear when RE2 refuses it.
std::string hint(const RE2& re) {
  const std::string& arg = re.error_arg();
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      if (arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9')
        return " (backreferences are not supported: patterns are RE2 syntax, which matches in linear time)";
      if (arg == "\\u") return " (write a code point as \\x{41}, not \\u0041)";
      if (arg == "\\c") return " (write a control character as \\x1d, not \\cX)";
      return {};
    case RE2::ErrorBadPerlOp:
      if (arg == "(?=" || arg == "(?!") return " (lookahead is not supported: patterns are RE2 syntax)";
      if (arg == "(?<")
        return " (lookbehind is not supported: patterns are RE2 syntax; a named group is written (?P<name>...))";
      return {};
    default:
      return {};
  }
}

}  // namespace

bool numeric_field(const std::string& field) { return field == "target"; }

ScanDecision interpret(const Scan& s, const std::vector<ScanRule>& rules, const ScanSituation& situation) {
  ScanDecision d;
  d.record["code"] = s.code;
  if (!s.symbology.empty()) d.record["symbology"] = s.symbology;
  if (!s.invalid.empty()) {
    // The driver says what arrived is not a code (line noise, bytes that are not text): recorded with its reason,
    // and it drives nothing; never a unit, a lot or a rule's command.
    d.valid = false;
    d.record["valid"] = false;
    d.record["reason"] = s.invalid;
    return d;
  }
  const Parsed parsed = parse_code(s.code, s.symbology);
  if (parsed.kind == CodeKind::gs1 && !parsed.elements.empty()) {
    json gs1 = json::object();
    for (const auto& e : parsed.elements) gs1[e.ai] = e.value;
    d.record["gs1"] = gs1;
  }
  if (!parsed.valid) {
    // A code that fails its own checks is a misread or a forged label: it is recorded, and it does nothing.
    d.valid = false;
    d.record["valid"] = false;
    d.record["reason"] = parsed.reason;
    return d;
  }
  d.record["valid"] = true;

  for (std::size_t i = 0; i < rules.size(); ++i) {
    const ScanRule& rule = rules[i];
    if (!rule.re) continue;
    // Group 0 is the whole match; a group that took no part in the match has a null data() (RE2's convention),
    // while a group that matched the empty string has a non-null one.
    const std::size_t groups = 1 + std::min(rule.fields.size(), capture_groups(rule.re));
    std::vector<re2::StringPiece> m(groups);
    if (!rule.re->Match(s.code, 0, s.code.size(), RE2::UNANCHORED, m.data(), static_cast<int>(groups))) continue;
    d.cmd = rule.action;
    for (std::size_t f = 0; f + 1 < groups; ++f) {
      if (m[f + 1].data() == nullptr) continue;
      const std::string text(m[f + 1].data(), m[f + 1].size());
      if (numeric_field(rule.fields[f]) && whole_number(text))
        d.args[rule.fields[f]] = std::stoll(text);
      else
        d.args[rule.fields[f]] = text;
    }
    d.record["action"] = d.cmd;
    d.record["rule"] = i + 1;
    return d;
  }

  // The fallbacks (shared/PRODUCT.md, "What a station does with input"). From a GS1 code the meaningful element is
  // taken: the serial (21) for a unit, the batch/lot (10) for an ingredient lot; otherwise the whole code.
  const Element* serial = parsed.find("21");
  const Element* lot = parsed.find("10");
  if (situation.mode == Mode::discrete && situation.work_order_active) {
    d.cmd = "unit.add";
    d.args["serial"] = serial ? serial->value : s.code;
  } else if (situation.mode == Mode::process && situation.weighing) {
    d.cmd = "lot.record";
    d.args["lot"] = lot ? lot->value : s.code;
  }
  if (!d.cmd.empty()) d.record["action"] = d.cmd;
  return d;
}

std::string pattern_problem(const std::string& pattern, std::size_t& column) {
  column = 0;
  if (pattern.empty()) return "must not be empty";
  if (pattern.size() > kMaxPattern)
    return "is " + std::to_string(pattern.size()) + " characters long, at most " + std::to_string(kMaxPattern);
  // Nesting: the limit dates from std::regex (which matched by recursion) and is kept, so that a configuration
  // accepted or refused before RE2 still is; no scanned code's structure needs deeper groups.
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_class) {
      in_class = c != ']';
      continue;
    }
    if (c == '[') in_class = true;
    if (c == '(' && ++depth > kMaxNesting) {
      column = i + 1;
      return "groups nested deeper than " + std::to_string(kMaxNesting) + " at character " + std::to_string(i + 1);
    }
    if (c == ')') --depth;
  }
  const RE2 compiled(pattern, pattern_options());
  if (!compiled.ok()) return "invalid regular expression: " + compiled.error() + hint(compiled);
  return {};
}

Pattern compile_pattern(const std::string& pattern) {
  auto re = std::make_shared<const RE2>(pattern, pattern_options());
  if (!re->ok()) return nullptr;
  return re;
}

std::size_t capture_groups(const Pattern& re) {
  return re ? static_cast<std::size_t>(std::max(0, re->NumberOfCapturingGroups())) : 0;
}

}  // namespace tally::scan
