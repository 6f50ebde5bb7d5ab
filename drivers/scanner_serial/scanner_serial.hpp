#pragma once
// scanner-serial: USB serial (CDC-ACM, /dev/ttyACM*) barcode scanners: one code a line, CR and/or LF terminated.
#include <string>
#include <string_view>

#include "driver.hpp"

namespace tally::scanner_serial {

// A received line -> the scan it holds: the AIM identifier ("]C1") split off when the scanner sends one, GS (0x1D)
// kept. `invalid` says why the line is not a code (control bytes, not UTF-8, an identifier with no data); the code is
// then the line's bytes escaped (code_text.hpp), so two different lines never give the same code.
struct LineScan {
  std::string code, symbology, invalid;
};
LineScan parse_line(std::string_view line);

DriverFactory configure(TableReader& keys);

}  // namespace tally::scanner_serial
