// HX711 serial interface (Avia Semiconductor HX711 datasheet, "Serial Interface" and Fig. 2 timing):
// DOUT low = a conversion is ready. Each SCK pulse shifts out one bit, MSB first, valid 0.1 us after the rising
// edge; 24 pulses read the 24-bit two's complement value and 1..3 more choose the channel and gain of the NEXT
// conversion, after which DOUT goes high until that conversion is ready. T3 (SCK high) must stay within 0.2..50 us:
// SCK high for more than 60 us powers the chip down, losing the read and resetting it to channel A, gain 128.
#include <algorithm>
#include <chrono>

#include "hx711.hpp"

namespace tally::hx711 {

std::int32_t decode(std::uint32_t word24) {
  word24 &= 0xFFFFFFu;
  return static_cast<std::int32_t>(word24 ^ 0x800000u) - 0x800000;
}

bool glitch(std::uint32_t word24) {
  word24 &= 0xFFFFFFu;
  return (word24 & (word24 + 1)) == 0;  // 0 or 2^n - 1 (0xFFFFFF included)
}

double median(std::vector<std::int32_t> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (static_cast<double>(v[n / 2 - 1]) + v[n / 2]) / 2.0;
}

int pulses_for_gain(int gain) { return gain == 32 ? 26 : gain == 64 ? 27 : 25; }

Sample clock_out(gpio::Line& sck, gpio::Line& dout, int pulses) {
  using clock = std::chrono::steady_clock;
  Sample s;
  for (int i = 0; i < pulses; ++i) {
    // The high phase is timed from before the rising edge is requested to after the falling edge is done: an upper
    // bound, so a preempted pulse is never missed (a few microseconds of ioctl are counted against us, not for us).
    const auto before = clock::now();
    sck.set(true);
    if (i < 24) s.word = s.word << 1 | (dout.get() ? 1u : 0u);
    sck.set(false);
    s.longest_high = std::max<std::chrono::nanoseconds>(s.longest_high, clock::now() - before);
  }
  s.dout_high_after = dout.get();
  return s;
}

}  // namespace tally::hx711
