#pragma once
// Frame layouts of the thermocouple amplifiers (pure: bytes in, temperatures or faults out).
//   MAX31855 datasheet (19-5793 Rev 6), "Memory Map" table: 32 bits, MSB first.
//   MAX6675 datasheet (19-2235 Rev 2), Table 1 "SO Output": 16 bits, MSB first.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace tally::thermocouple {

struct Frame {
  bool valid = true;
  std::string invalid;                  // why the frame cannot come from the chip (reserved bits set, ...)
  std::optional<double> temperature;    // degC; empty with a fault
  std::optional<double> cold_junction;  // degC (MAX31855 only; present with a thermocouple fault too)
  std::string fault;                    // "open-circuit", "short-to-gnd", "short-to-vcc" (joined with '+')
};

Frame decode_max31855(std::span<const std::uint8_t, 4> bytes);
Frame decode_max6675(std::span<const std::uint8_t, 2> bytes);

// The frame a chip would send (for the fake bus). Temperatures are rounded to the chip's resolution;
// `faults` are the MAX31855's bits 2..0 (SCV, SCG, OC).
std::array<std::uint8_t, 4> encode_max31855(double thermocouple, double cold_junction, unsigned faults = 0);
std::array<std::uint8_t, 2> encode_max6675(double temperature, bool open = false);

}  // namespace tally::thermocouple
