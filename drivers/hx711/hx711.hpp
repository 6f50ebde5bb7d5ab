#pragma once
// hx711: a load cell through an HX711 24-bit ADC, bit-banged over two GPIO lines (DOUT in, SCK out).
// Pure helpers (decode, glitch test, median, gain pulses) are separate from the clocking so they are tested alone.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "driver.hpp"
#include "gpio.hpp"

namespace tally::hx711 {

// 24-bit two's complement as clocked out MSB first (datasheet "Serial Interface").
std::int32_t decode(std::uint32_t word24);
// Values a misread produces rather than the load cell: 0 and 2^n - 1 (0x7FFFFF, 0x3FFFFF, ... all ones in the low
// bits, as when DOUT is sampled before the chip drives it). Isolated ones; a median absorbs what slips through.
bool glitch(std::uint32_t word24);
// The median of `v` (the mean of the middle two for an even count). `v` must not be empty.
double median(std::vector<std::int32_t> v);
// Total clock pulses per read: 24 data bits + 1 (A, gain 128), + 2 (B, gain 32), + 3 (A, gain 64).
int pulses_for_gain(int gain);

// One read: clock `pulses` pulses, reading DOUT while SCK is high for the first 24.
struct Sample {
  std::uint32_t word = 0;
  std::chrono::nanoseconds longest_high{0};  // the longest clock-high phase, as measured around the two set()s
  bool dout_high_after = false;              // the chip drives DOUT high after the last pulse until its next conversion
};
Sample clock_out(gpio::Line& sck, gpio::Line& dout, int pulses);

// The clock-high limit the datasheet gives (T3 <= 50 us; > 60 us powers the chip down).
inline constexpr std::chrono::microseconds max_clock_high{50};

struct Settings {
  std::string chip = "gpiochip0";
  std::string dout, sck;  // line numbers or names
  int gain = 128;
  double offset = 0;      // raw counts at zero load
  double scale = 1;       // raw counts per unit
  std::string unit = "";
  int samples = 5;
  std::chrono::milliseconds poll{1000};
  std::chrono::milliseconds not_ready_after{1000};  // DOUT high this long: a fault reading "not-ready"
  std::chrono::nanoseconds max_clock_high = hx711::max_clock_high;  // longer: a preempted read, discarded
  std::function<std::unique_ptr<gpio::Chip>()> open_chip;
};

std::unique_ptr<Driver> make(Settings s);
DriverFactory configure(TableReader& keys);

}  // namespace tally::hx711
