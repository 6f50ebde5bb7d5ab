// A scanned code from any scanner (or a FIFO, or a forged label): the GS1 element-string parser in its three entry
// points, EAN/UPC check digits, and what the station makes of the code (scan::interpret with the [[scan_rules]] of
// config/demo.toml, in each situation). The input is "<symbology>\n<code>" when the first line is at most 3 bytes
// long (e.g. "]C1"), else the whole input is the code, without symbology. Scanners deliver at most 4,096 characters
// (the drivers' bound); longer inputs are cut there, as the drivers would drop them.
// Seed corpus (tests/fuzz/corpus/fuzz_gs1/): the vectors of daemon/scan/test_gs1.cpp and test_scan_rules.cpp, whose
// sources are named there ([GS1-BE] gs1-barcode-engine's unit tests, shared/reference/devices.md, the GS1 General
// Specifications).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scan/gs1.hpp"
#include "record/record.hpp"
#include "scan/scan_rules.hpp"

namespace {

using namespace tally;

std::vector<scan::ScanRule> demo_rules() {
  std::vector<scan::ScanRule> rules;
  auto add = [&](const char* pattern, const char* action, std::vector<std::string> fields) {
    rules.push_back({pattern, scan::compile_pattern(pattern), action, std::move(fields)});
  };
  add("^BATCH:([^:]+):(.+)$", "batch.start", {"recipe", "batch"});
  add("^OP:(.+)$", "operator.set", {"operator"});
  add("^NEXT$", "step.next", {});
  return rules;
}

void check(const scan::Parsed& p) {
  if (!p.valid && p.reason.empty()) __builtin_trap();  // a refused code always says why
  for (const auto& e : p.elements) {
    if (e.ai.size() < 2 || e.ai.size() > 4) __builtin_trap();
    if (e.measure && !std::isfinite(*e.measure)) __builtin_trap();
  }
  if (p.kind != scan::CodeKind::gs1 && !p.elements.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<scan::ScanRule> rules = demo_rules();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view symbology;
  if (const auto nl = input.find('\n'); nl != std::string_view::npos && nl <= 3) {
    symbology = input.substr(0, nl);
    input.remove_prefix(nl + 1);
  }
  if (input.size() > 4096) input = input.substr(0, 4096);
  check(scan::parse_code(input, symbology));
  check(scan::parse_element_string(input));
  check(scan::parse_bracketed(input));
  std::string digits;
  for (char c : input)
    if (c >= '0' && c <= '9') digits += c;
  if (!digits.empty()) {
    const int d = scan::gs1_check_digit(digits);
    if (d < 0 || d > 9) __builtin_trap();
    (void)scan::gs1_check_digit_ok(digits);
  }
  const Scan s{std::string(input), std::string(symbology), std::chrono::system_clock::now()};
  for (const scan::ScanSituation situation : {scan::ScanSituation{Mode::discrete, true, false},
                                              scan::ScanSituation{Mode::process, false, true}}) {
    const scan::ScanDecision d = scan::interpret(s, rules, situation);
    (void)to_text(d.record);
    (void)to_text(d.args);
    if (!d.valid && !d.cmd.empty()) __builtin_trap();  // an invalid code drives nothing
  }
  return 0;
}
