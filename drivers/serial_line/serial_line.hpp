#pragma once
// serial-line: any device that prints one value a line (Arduino sketches, USB thermometers, weighing indicators).
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "driver.hpp"

namespace tally::serial_line {

// The number in `line`: group 1 of `pattern` when there is one, else the first number in the line.
std::optional<double> parse_value(std::string_view line, const std::regex* pattern);

DriverFactory configure(TableReader& keys);

}  // namespace tally::serial_line
