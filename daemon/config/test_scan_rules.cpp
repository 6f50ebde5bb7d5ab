// [[scan_rules]] and the scanner devices' keys as `tallyd --check-config` reports them.
#include <catch2/catch.hpp>

#include <chrono>

#include "config/config.hpp"
#include "config/config_problems.hpp"

using namespace tally;
using tally::test::has;
using tally::test::problems;

namespace {
const std::string head = "[station]\nid = \"bench-1\"\n\n[[devices]]\nname = \"scanner\"\ndriver = \"scanner-evdev\"\n"
                         "path = \"/dev/input/by-id/usb-Scanner-event-kbd\"\nfeedback = \"buzzer\"\n";
}

TEST_CASE("scan rules are read in order with their fields, and the feedback key is kept") {
  const Config c = parse_config(head + R"(
[[scan_rules]]
pattern = '^BATCH:([^:]+):(.+)$'
action = "batch.start"
fields = ["recipe", "batch"]

[[scan_rules]]
pattern = '^OP:'
action = "operator.set"
)",
                                "t.toml");
  REQUIRE(c.scan_rules.size() == 2);
  CHECK(c.scan_rules[0].action == "batch.start");
  CHECK(c.scan_rules[0].fields == std::vector<std::string>{"recipe", "batch"});
  CHECK(c.scan_rules[1].fields.empty());
  CHECK(c.devices[0].feedback == "buzzer");
  CHECK(c.warnings.empty());  // scan_rules are no longer "not implemented"
}

TEST_CASE("bad scan rules: every problem with its position") {
  const auto p = problems(head + R"(
[[scan_rules]]
pattern = '^BATCH:(['
action = "batch.start"

[[scan_rules]]
pattern = '^(a)$'
action = "coffee.make"
fields = ["x", "y"]
colour = "red"

[[scan_rules]]
pattern = '((((((((((x))))))))))'
action = "unit.add"

[[scan_rules]]
action = "unit.add"
fields = [1]
)" + "\n[[scan_rules]]\npattern = '" + std::string(1025, 'a') + "'\naction = \"unit.add\"\n");
  INFO(Catch::Detail::stringify(p));
  CHECK(p.size() == 7);
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) {
    return s.rfind("t.toml:11:11: scan_rules[1] pattern: invalid regular expression", 0) == 0;
  }));
  CHECK(has(p, "t.toml:16:10: scan_rules[2] action: \"coffee.make\" is not a production command (batch.start, "
               "step.next, batch.end, lot.record, work_order.start, work_order.end, unit.add, unit.reject, "
               "operator.set)"));
  CHECK(has(p, "t.toml:18:1: scan_rules[2]: unknown key 'colour'"));
  CHECK(has(p, "t.toml:21:11: scan_rules[3] pattern: groups nested deeper than 8 at character 9"));
  CHECK(std::any_of(p.begin(), p.end(), [](const std::string& s) { return s.find("missing required key 'pattern'") != std::string::npos; }));
  CHECK(has(p, "t.toml:26:11: scan_rules[4] fields: expected a non-empty string"));
  CHECK(has(p, "t.toml:29:11: scan_rules[5] pattern: is 1025 characters long, at most 1024"));
}

TEST_CASE("a rule naming more fields than its pattern captures is refused") {
  const auto p = problems(head +
                          "[[scan_rules]]\npattern = '^(a)$'\naction = \"work_order.start\"\nfields = [\"work_order\", \"target\"]\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:12:10: scan_rules[1] fields: names 2 fields but the pattern has only 1 capture groups");
}

TEST_CASE("a rule filling an argument its action does not take is refused at load, not at every scan") {
  const auto p = problems(head + "[[scan_rules]]\npattern = '^(a)(b)$'\naction = \"unit.add\"\nfields = [\"serial\", \"count\"]\n");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == "t.toml:12:21: scan_rules[1] fields: \"unit.add\" takes no \"count\" (it takes: serial)");
}

TEST_CASE("scan-rule patterns are RE2: backreferences and lookaround are errors with a position and the reason") {
  const auto p = problems(head + "[[scan_rules]]\npattern = '^(A+)-\\1$'\naction = \"unit.add\"\n\n"
                                 "[[scan_rules]]\npattern = '^SN(?=[0-9])'\naction = \"unit.add\"\n");
  INFO(Catch::Detail::stringify(p));
  REQUIRE(p.size() == 2);
  CHECK(p[0] == "t.toml:10:11: scan_rules[1] pattern: invalid regular expression: invalid escape sequence: \\1 "
                "(backreferences are not supported: patterns are RE2 syntax, which matches in linear time)");
  CHECK(p[1] == "t.toml:14:11: scan_rules[2] pattern: invalid regular expression: invalid perl operator: (?= "
                "(lookahead is not supported: patterns are RE2 syntax)");
}

TEST_CASE("a pattern that backtracks exponentially in std::regex is accepted, and its rule matches at once") {
  const Config c = parse_config(head + "[[scan_rules]]\npattern = '^([A-Z0-9]+-?)+$'\naction = \"operator.set\"\n"
                                       "fields = [\"operator\"]\n",
                                "t.toml");
  REQUIRE(c.scan_rules.size() == 1);
  const auto start = std::chrono::steady_clock::now();
  const auto d = scan::interpret(Scan{std::string(30, 'A') + "!", "", {}}, c.scan_rules,
                                 scan::ScanSituation{Mode::process, false, false});
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
  CHECK(d.cmd.empty());
}
