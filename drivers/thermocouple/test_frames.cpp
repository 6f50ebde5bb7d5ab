// Frame decoding against the datasheets' own tables. Each vector names its source.
#include <catch2/catch.hpp>

#include "thermocouple/frames.hpp"

using namespace tally::thermocouple;

namespace {
Frame m31855(std::uint32_t w) {
  const std::array<std::uint8_t, 4> b{static_cast<std::uint8_t>(w >> 24), static_cast<std::uint8_t>(w >> 16),
                                      static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w)};
  return decode_max31855(b);
}
Frame m6675(std::uint16_t w) {
  const std::array<std::uint8_t, 2> b{static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w)};
  return decode_max6675(b);
}
}  // namespace

TEST_CASE("MAX31855 thermocouple temperatures, datasheet Table 2 (14-bit, 0.25 degC)") {
  // Table 2 "Thermocouple Temperature Data Format": the upper 16 bits (D31..D16) for each temperature, with a
  // cold junction of 0 in the lower half.
  const std::pair<std::uint16_t, double> table[] = {
      {0x6400, 1600.00}, {0x3E80, 1000.00}, {0x064C, 100.75}, {0x0190, 25.00}, {0x0000, 0.00},
      {0xFFFC, -0.25},   {0xFFF0, -1.00},   {0xF060, -250.00}};
  for (const auto& [upper, celsius] : table) {
    INFO("D31..D16 = " << std::hex << upper);
    const Frame f = m31855(std::uint32_t{upper} << 16);
    REQUIRE(f.valid);
    CHECK(f.fault.empty());
    REQUIRE(f.temperature);
    CHECK(*f.temperature == celsius);
    CHECK(*f.cold_junction == 0.0);
  }
}

TEST_CASE("MAX31855 cold-junction temperatures, datasheet Table 4 (12-bit, 0.0625 degC)") {
  // Table 4 "Reference Junction Temperature Data Format": D15..D0 for each temperature.
  const std::pair<std::uint16_t, double> table[] = {
      {0x7F00, 127.0000}, {0x6490, 100.5625}, {0x1900, 25.0000}, {0x0000, 0.0000},
      {0xFFF0, -0.0625},  {0xFF00, -1.0000},  {0xEC00, -20.0000}, {0xC900, -55.0000}};
  for (const auto& [lower, celsius] : table) {
    INFO("D15..D0 = " << std::hex << lower);
    const Frame f = m31855(0x01900000u | lower);  // thermocouple +25.00
    REQUIRE(f.valid);
    CHECK(*f.cold_junction == celsius);
    CHECK(*f.temperature == 25.0);
  }
}

TEST_CASE("MAX31855 whole frames from shared/reference/devices.md (computed from the memory map)") {
  Frame f = m31855(0x01901900);  // 01 90 19 00
  CHECK(*f.temperature == 25.0);
  CHECK(*f.cold_junction == 25.0);
  f = m31855(0xFFF01900);  // FF F0 19 00
  CHECK(*f.temperature == -1.0);
  CHECK(*f.cold_junction == 25.0);
  CHECK(*m31855(0x64000000).temperature == 1600.0);
  CHECK(*m31855(0xF0600000).temperature == -250.0);
}

TEST_CASE("MAX31855 every fault bit: a fault, no temperature, the cold junction still read") {
  const std::pair<std::uint32_t, const char*> faults[] = {
      {0x00011901, "open-circuit"},   // D16 + D0 OC
      {0x00011902, "short-to-gnd"},   // D16 + D1 SCG
      {0x00011904, "short-to-vcc"},   // D16 + D2 SCV
      {0x00011903, "open-circuit+short-to-gnd"},
      {0x00011900, "fault"},          // D16 alone: a fault the chip did not explain
  };
  for (const auto& [w, name] : faults) {
    INFO(std::hex << w);
    const Frame f = m31855(w);
    REQUIRE(f.valid);
    CHECK(f.fault == name);
    CHECK_FALSE(f.temperature);
    CHECK(*f.cold_junction == 25.0);
  }
  // An open thermocouple often reads a full-scale temperature as well: the fault wins.
  CHECK(m31855(0x7FFD1901).fault == "open-circuit");
}

TEST_CASE("MAX31855 frames no chip could send are invalid") {
  CHECK_FALSE(m31855(0xFFFFFFFF).valid);        // MISO floating high: nobody answering
  CHECK_FALSE(m31855(0x01921900).valid);        // D17 reserved set
  CHECK_FALSE(m31855(0x01901908).valid);        // D3 reserved set
  CHECK_FALSE(m31855(0x01901901).valid);        // D0 without D16
}

TEST_CASE("MAX6675 frames: temperature, open input, impossible bits") {
  // Table 1: D14..D3 12-bit reading, 0.25 degC; D2 = 1 with the thermocouple open; D15 and D1 read 0.
  CHECK(*m6675(0x0320).temperature == 25.0);     // 03 20
  CHECK(*m6675(0x0C88).temperature == 100.25);   // 0C 88
  CHECK(*m6675(0x0000).temperature == 0.0);
  CHECK(*m6675(0x7FF8).temperature == 1023.75);  // full scale
  CHECK(*m6675(0x0321).temperature == 25.0);     // D0 is three-state: ignored
  const Frame open = m6675(0x0004);              // 00 04
  REQUIRE(open.valid);
  CHECK(open.fault == "open-circuit");
  CHECK_FALSE(open.temperature);
  CHECK_FALSE(m6675(0xFFFF).valid);
  CHECK_FALSE(m6675(0x8320).valid);  // D15 set
  CHECK_FALSE(m6675(0x0322).valid);  // D1 (device ID) set
}

TEST_CASE("encoded frames decode to the same temperatures (the fake bus's frames)") {
  for (double t : {-270.0, -250.0, -1.0, -0.25, 0.0, 25.0, 100.75, 1372.0}) {
    const auto f = decode_max31855(encode_max31855(t, -12.5));
    CHECK(*f.temperature == t);
    CHECK(*f.cold_junction == -12.5);
  }
  CHECK(decode_max31855(encode_max31855(20, 25, 0x1)).fault == "open-circuit");
  CHECK(encode_max31855(25, 25) == std::array<std::uint8_t, 4>{0x01, 0x90, 0x19, 0x00});
  CHECK(encode_max6675(100.25) == std::array<std::uint8_t, 2>{0x0C, 0x88});
  CHECK(decode_max6675(encode_max6675(20, true)).fault == "open-circuit");
}
