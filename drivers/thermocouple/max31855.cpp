// MAX31855 cold-junction compensated thermocouple-to-digital converter: one 32-bit frame per read.
//   D31..D18  thermocouple temperature, 14-bit two's complement, 0.25 degC/LSB
//   D17       reserved, always 0         D16  fault: set when any of D2..D0 is
//   D15..D4   internal (cold-junction) temperature, 12-bit two's complement, 0.0625 degC/LSB
//   D3        reserved, always 0         D2 SCV short to VCC, D1 SCG short to GND, D0 OC open circuit
#include <cmath>

#include "frames.hpp"

namespace tally::thermocouple {

namespace {
std::int32_t sign_extend(std::uint32_t value, int bits) {
  const std::uint32_t sign = 1u << (bits - 1);
  return static_cast<std::int32_t>((value ^ sign)) - static_cast<std::int32_t>(sign);
}
}  // namespace

Frame decode_max31855(std::span<const std::uint8_t, 4> b) {
  const std::uint32_t w = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  Frame f;
  // The reserved bits read 0 on a working chip; a floating MISO (no chip, broken wire) reads all ones.
  if (w & (1u << 17 | 1u << 3)) {
    f.valid = false;
    f.invalid = w == 0xFFFFFFFFu ? "all ones (no MAX31855 answering?)" : "reserved bit set";
    return f;
  }
  const bool fault_flag = w & (1u << 16);
  if (!fault_flag && (w & 0x7u)) {
    f.valid = false;
    f.invalid = "fault bits without the fault flag";
    return f;
  }
  f.cold_junction = sign_extend((w >> 4) & 0xFFFu, 12) * 0.0625;
  if (fault_flag) {
    // The chip keeps converting the cold junction while the thermocouple is faulty; D31..D18 are then meaningless.
    static constexpr const char* names[] = {"open-circuit", "short-to-gnd", "short-to-vcc"};
    for (int bit = 0; bit < 3; ++bit)
      if (w & (1u << bit)) f.fault += (f.fault.empty() ? "" : "+") + std::string(names[bit]);
    if (f.fault.empty()) f.fault = "fault";
    return f;
  }
  f.temperature = sign_extend(w >> 18, 14) * 0.25;
  return f;
}

std::array<std::uint8_t, 4> encode_max31855(double thermocouple, double cold_junction, unsigned faults) {
  const auto tc = static_cast<std::uint32_t>(static_cast<std::int32_t>(std::lround(thermocouple / 0.25))) & 0x3FFFu;
  const auto cj = static_cast<std::uint32_t>(static_cast<std::int32_t>(std::lround(cold_junction / 0.0625))) & 0xFFFu;
  std::uint32_t w = tc << 18 | cj << 4 | (faults & 0x7u);
  if (faults & 0x7u) w |= 1u << 16;
  return {static_cast<std::uint8_t>(w >> 24), static_cast<std::uint8_t>(w >> 16), static_cast<std::uint8_t>(w >> 8),
          static_cast<std::uint8_t>(w)};
}

}  // namespace tally::thermocouple
