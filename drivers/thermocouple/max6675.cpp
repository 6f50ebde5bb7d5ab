// MAX6675 K-thermocouple-to-digital converter (no negative temperatures): one 16-bit frame per read.
//   D15      dummy sign bit, always 0
//   D14..D3  temperature, 12-bit unsigned, 0.25 degC/LSB (0 .. 1023.75 degC)
//   D2       1 when the thermocouple input is open   D1 device ID, always 0   D0 three-state
#include <algorithm>
#include <cmath>

#include "frames.hpp"

namespace tally::thermocouple {

Frame decode_max6675(std::span<const std::uint8_t, 2> b) {
  const std::uint16_t w = static_cast<std::uint16_t>(b[0] << 8 | b[1]);
  Frame f;
  if (w & 0x8000u || w & 0x2u) {
    f.valid = false;
    f.invalid = w == 0xFFFFu ? "all ones (no MAX6675 answering?)" : "dummy sign bit or device ID bit set";
    return f;
  }
  if (w & 0x4u) {
    f.fault = "open-circuit";
    return f;
  }
  f.temperature = ((w >> 3) & 0xFFFu) * 0.25;
  return f;
}

std::array<std::uint8_t, 2> encode_max6675(double temperature, bool open) {
  const long counts = std::clamp(std::lround(temperature / 0.25), 0L, 4095L);
  const auto w = static_cast<std::uint16_t>(static_cast<unsigned>(counts) << 3 | (open ? 0x4u : 0u));
  return {static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w)};
}

}  // namespace tally::thermocouple
