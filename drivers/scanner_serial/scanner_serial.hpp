#pragma once
// scanner-serial: USB serial (CDC-ACM, /dev/ttyACM*) barcode scanners: one code a line, CR and/or LF terminated.
#include <string>
#include <string_view>

#include "driver.hpp"

namespace tally::scanner_serial {

// A received line -> the scan it holds: the AIM identifier ("]C1") split off when the scanner sends one, GS (0x1D)
// kept. nullopt-like empty code when the line is noise (control bytes other than GS, or nothing left).
struct LineScan {
  std::string code, symbology;
  bool noise = false;
};
LineScan parse_line(std::string_view line);

DriverFactory configure(TableReader& keys);

}  // namespace tally::scanner_serial
