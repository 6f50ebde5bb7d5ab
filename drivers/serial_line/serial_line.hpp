#pragma once
// serial-line: any device that prints one value a line (Arduino sketches, USB thermometers, weighing indicators).
#include <cstddef>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "driver.hpp"

namespace re2 {
class RE2;
}

namespace tally::serial_line {

// The number in `line`: group 1 of `pattern` when there is one, else the first number in the line. The `pattern`
// key is compiled with RE2, which matches in time linear in the line whatever the pattern (std::regex backtracks:
// a pattern like `^(([0-9]+.?)+)$` against a noisy line could hold the event loop for seconds).
std::optional<double> parse_value(std::string_view line, const re2::RE2* pattern);

// Transitional, for drivers/serial/test_line_splitter.cpp only (outside this driver's folder), which still builds
// its patterns with std::regex: matches the same way through std::regex. No pattern from a configuration reaches
// it. Delete it once that test uses RE2.
std::optional<double> parse_value(std::string_view line, const std::regex* pattern);
// No pattern: the first number in the line (also picks the overload for a literal nullptr).
inline std::optional<double> parse_value(std::string_view line, std::nullptr_t) {
  return parse_value(line, static_cast<const re2::RE2*>(nullptr));
}

DriverFactory configure(TableReader& keys);

}  // namespace tally::serial_line
