#include "scan/scan_rules.hpp"

#include <algorithm>

#include "scan/gs1.hpp"

namespace tally::scan {

namespace {

bool whole_number(const std::string& s) {
  return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool numeric_field(const std::string& field) { return field == "target"; }

ScanDecision interpret(const Scan& s, const std::vector<ScanRule>& rules, const ScanSituation& situation) {
  ScanDecision d;
  d.record["code"] = s.code;
  if (!s.symbology.empty()) d.record["symbology"] = s.symbology;
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
    std::smatch m;
    if (!std::regex_search(s.code, m, rule.re)) continue;
    d.cmd = rule.action;
    for (std::size_t f = 0; f < rule.fields.size() && f + 1 < m.size(); ++f) {
      if (!m[f + 1].matched) continue;
      const std::string text = m[f + 1].str();
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
  // Nesting: std::regex matches by recursion, so deeply nested groups cost stack on every scan.
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
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::string("invalid regular expression: ") + e.what();
  }
  return {};
}

}  // namespace tally::scan
