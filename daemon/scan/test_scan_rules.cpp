// What a scan means: rules first (first match wins), then the fallbacks of shared/PRODUCT.md; invalid codes do
// nothing. The station applies these decisions as they are (station/input_router.cpp).
#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>

#include "scan/gs1.hpp"
#include "scan/scan_rules.hpp"

using namespace tally;
using namespace tally::scan;

namespace {
ScanRule rule(std::string pattern, std::string action, std::vector<std::string> fields) {
  Pattern re = compile_pattern(pattern);
  if (!re) throw std::invalid_argument("test pattern does not compile: " + pattern);  // also at namespace scope
  return ScanRule{pattern, std::move(re), std::move(action), std::move(fields)};
}
Scan a_scan(std::string code, std::string symbology = "") { return Scan{std::move(code), std::move(symbology), {}}; }

const std::vector<ScanRule> rules = {
    rule("^BATCH:([^:]+):(.+)$", "batch.start", {"recipe", "batch"}),
    rule("^WO:([^:]+)(?::([0-9]+))?$", "work_order.start", {"work_order", "target"}),
    rule("^OP:(.+)$", "operator.set", {"operator"}),
    rule("^OP:admin$", "work_order.end", {}),  // never reached: the rule above matches first
};
const ScanSituation idle_process{Mode::process, false, false};
const ScanSituation weighing{Mode::process, false, true};
const ScanSituation idle_discrete{Mode::discrete, false, false};
const ScanSituation producing{Mode::discrete, true, false};
}  // namespace

TEST_CASE("a matching rule gives its command with the captured fields") {
  const auto d = interpret(a_scan("BATCH:lavender-soap:B-0042"), rules, idle_process);
  CHECK(d.valid);
  CHECK(d.cmd == "batch.start");
  CHECK(d.args == json{{"recipe", "lavender-soap"}, {"batch", "B-0042"}});
  CHECK(d.record["action"] == "batch.start");
  CHECK(d.record["rule"] == 1);
  CHECK(d.record["valid"] == true);
  CHECK(d.record["code"] == "BATCH:lavender-soap:B-0042");
  CHECK_FALSE(d.record.contains("symbology"));
}

TEST_CASE("rules win over the fallbacks, and the first match wins") {
  const auto d = interpret(a_scan("OP:admin"), rules, producing);
  CHECK(d.cmd == "operator.set");
  CHECK(d.args == json{{"operator", "admin"}});
}

TEST_CASE("a target field becomes a number, an unmatched optional group is left out, serial digits stay text") {
  CHECK(interpret(a_scan("WO:WO-7:25"), rules, idle_discrete).args == json{{"work_order", "WO-7"}, {"target", 25}});
  CHECK(interpret(a_scan("WO:WO-7"), rules, idle_discrete).args == json{{"work_order", "WO-7"}});
  const auto d = interpret(a_scan("000123"), rules, producing);
  CHECK(d.args == json{{"serial", "000123"}});
}

TEST_CASE("fallbacks: a part serial while a work order runs, a lot during a weigh step, else only recorded") {
  auto d = interpret(a_scan("SN-1001"), rules, producing);
  CHECK(d.cmd == "unit.add");
  CHECK(d.args == json{{"serial", "SN-1001"}});
  CHECK(d.record["action"] == "unit.add");

  d = interpret(a_scan("LOT-88"), rules, weighing);
  CHECK(d.cmd == "lot.record");
  CHECK(d.args == json{{"lot", "LOT-88"}});

  for (const auto& situation : {idle_process, idle_discrete}) {
    d = interpret(a_scan("SN-1001"), rules, situation);
    CHECK(d.cmd.empty());
    CHECK(d.valid);
    CHECK_FALSE(d.record.contains("action"));
  }
}

TEST_CASE("GS1: AI 10 is the lot, AI 21 the serial, and the elements are in the record") {
  const std::string code = std::string("0109506000134376") + "10LOT-5" + GS + "21SER-9";
  auto d = interpret(a_scan(code, "]C1"), rules, weighing);
  CHECK(d.cmd == "lot.record");
  CHECK(d.args == json{{"lot", "LOT-5"}});
  CHECK(d.record["gs1"] == json{{"01", "09506000134376"}, {"10", "LOT-5"}, {"21", "SER-9"}});
  CHECK(d.record["symbology"] == "]C1");

  d = interpret(a_scan(code, "]C1"), rules, producing);
  CHECK(d.cmd == "unit.add");
  CHECK(d.args == json{{"serial", "SER-9"}});
}

TEST_CASE("an invalid code is recorded with the reason and takes no action, not even a matching rule's") {
  const std::vector<ScanRule> catch_all = {rule("^.*$", "operator.set", {"operator"})};
  auto d = interpret(a_scan("0109506000134370", "]d2"), catch_all, producing);
  CHECK_FALSE(d.valid);
  CHECK(d.cmd.empty());
  CHECK(d.record["valid"] == false);
  CHECK(d.record["reason"] == "(01): check digit is 0, expected 6");
  CHECK_FALSE(d.record.contains("action"));

  d = interpret(a_scan("4006381333932"), catch_all, producing);  // EAN-13 with the wrong check digit (1 would be right)
  CHECK_FALSE(d.valid);
  CHECK(d.record["reason"] == "EAN-13: check digit is 2, expected 1");
}

TEST_CASE("scan-rule patterns: length, nesting and syntax are checked with a position") {
  std::size_t column = 0;
  CHECK(pattern_problem("^BATCH:([^:]+):(.+)$", column).empty());
  CHECK(pattern_problem(std::string(1025, 'a'), column).find("at most 1024") != std::string::npos);
  CHECK(pattern_problem("((((((((a))))))))", column).empty());
  CHECK(pattern_problem("(((((((((a)))))))))", column).find("nested deeper than 8 at character 9") != std::string::npos);
  CHECK(column == 9);
  CHECK(pattern_problem("[(((((((((]", column).empty());  // brackets inside a class are not groups
  CHECK(pattern_problem("^BATCH:(", column) == "invalid regular expression: missing ): ^BATCH:(");
  CHECK(pattern_problem("", column) == "must not be empty");
  CHECK(compile_pattern("^BATCH:(") == nullptr);
}

TEST_CASE("scan-rule patterns are RE2: what ECMAScript has and RE2 has not is refused with a clear reason") {
  std::size_t column = 0;
  CHECK(pattern_problem("^(A+)-\\1$", column) ==
        "invalid regular expression: invalid escape sequence: \\1 (backreferences are not supported: patterns are "
        "RE2 syntax, which matches in linear time)");
  CHECK(pattern_problem("^SN(?=[0-9])", column) ==
        "invalid regular expression: invalid perl operator: (?= (lookahead is not supported: patterns are RE2 "
        "syntax)");
  CHECK(pattern_problem("^SN(?![0-9])", column).find("lookahead is not supported") != std::string::npos);
  CHECK(pattern_problem("(?<=SN)[0-9]+", column).find("lookbehind is not supported") != std::string::npos);
  CHECK(pattern_problem("\\u0041", column).find("\\x{41}") != std::string::npos);
  // What RE2 and ECMAScript share keeps working: classes, \d, non-capturing and named groups, GS as \x1d.
  CHECK(pattern_problem("^(?:WO|wo):(\\d+)(?P<rest>.*)\\x1d$", column).empty());
}

TEST_CASE("a pathological pattern matches in linear time: the event loop never stalls on a scan") {
  // With std::regex this pattern against 30 characters and a '!' backtracked for ~15 s (doubling per character):
  // a rule any config may hold, and a code any label may carry. The bound is generous; RE2 takes microseconds.
  const std::vector<ScanRule> nasty = {rule("^([A-Z0-9]+-?)+$", "operator.set", {"operator"})};
  const std::string code = std::string(30, 'A') + "!";
  const auto start = std::chrono::steady_clock::now();
  const auto d = interpret(a_scan(code), nasty, idle_process);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::milliseconds(100));
  CHECK(d.cmd.empty());  // no match: only recorded
  CHECK(d.valid);
  // The same rule still does its job on a code it matches; the repeated group captures its last iteration.
  const auto ok = interpret(a_scan("AB-12-XY"), nasty, idle_process);
  CHECK(ok.cmd == "operator.set");
  CHECK(ok.args == json{{"operator", "XY"}});
}

TEST_CASE("a capture that matched the empty string fills its field, and one that took no part leaves it out") {
  const std::vector<ScanRule> r = {rule("^LOT:([A-Z]*)(?:/([0-9]+))?$", "lot.record", {"lot", "note"})};
  CHECK(interpret(a_scan("LOT:"), r, idle_process).args == json{{"lot", ""}});
  CHECK(interpret(a_scan("LOT:AB/7"), r, idle_process).args == json{{"lot", "AB"}, {"note", "7"}});
}

TEST_CASE("operator feedback: accepted only for a valid code whose command (if any) was taken") {
  const auto recorded = interpret(a_scan("SN-1"), rules, idle_process);
  CHECK(feedback_pattern(recorded, false) == OutputPattern::accepted);  // nothing to run: taken as recorded
  const auto unit = interpret(a_scan("SN-1"), rules, producing);
  CHECK(feedback_pattern(unit, true) == OutputPattern::accepted);
  CHECK(feedback_pattern(unit, false) == OutputPattern::refused);  // e.g. a duplicate serial
  const auto bad = interpret(a_scan("02345689"), rules, producing);
  CHECK(feedback_pattern(bad, true) == OutputPattern::refused);
}

TEST_CASE("a symbology identifier with no data after it is recorded as invalid, and drives nothing") {
  // The drivers deliver it as Scan{"", "]C1"}; before, "]Q1" and "]C0" alone passed as a valid empty plain code
  // (an empty serial in discrete mode), "]C1" alone said "empty GS1 element string".
  const std::vector<ScanRule> catch_all = {rule("^.*$", "operator.set", {"operator"})};
  for (const char* aim : {"]C1", "]e0", "]Q3", "]d2", "]J1", "]E0", "]E4", "]Q1", "]C0", "]d1"}) {
    INFO(aim);
    for (const auto& situation : {producing, weighing, idle_process}) {
      const auto d = interpret(a_scan("", aim), catch_all, situation);
      CHECK_FALSE(d.valid);
      CHECK(d.cmd.empty());
      CHECK(d.record["valid"] == false);
      CHECK(d.record["reason"] == std::string("no data after the symbology identifier ") + aim);
      CHECK(d.record["symbology"] == aim);
      CHECK(d.record["code"] == "");
      CHECK_FALSE(d.record.contains("action"));
      CHECK(feedback_pattern(d, true) == OutputPattern::refused);
    }
  }
  CHECK(interpret(a_scan(""), catch_all, producing).record["reason"] == "empty code");
}

TEST_CASE("a scan the driver marks invalid is recorded with its reason and drives nothing, whatever the rules say") {
  const auto rules = std::vector<ScanRule>{rule("^(.*)$", "unit.add", {"serial"})};
  Scan noise{"SN-\\xff\\xfe", "", {}, "not UTF-8 text at byte 4 (0xff)"};
  for (const ScanSituation situation : {ScanSituation{Mode::discrete, true, false}, ScanSituation{Mode::process, false, true}}) {
    const ScanDecision d = interpret(noise, rules, situation);
    CHECK_FALSE(d.valid);
    CHECK(d.cmd.empty());
    CHECK(d.record["valid"] == false);
    CHECK(d.record["reason"] == "not UTF-8 text at byte 4 (0xff)");
    CHECK(d.record["code"] == "SN-\\xff\\xfe");
    CHECK_FALSE(d.record.contains("action"));
  }
}
