#include <catch2/catch.hpp>

#include "simulated/simulated.hpp"

using namespace tally;

TEST_CASE("the simulated waveforms stay within [min, max] with the period asked for") {
  simulated::Settings s;
  s.min = 10;
  s.max = 20;
  s.period_s = 4;
  s.waveform = simulated::Waveform::sine;
  CHECK(simulated::wave(s, 0) == Approx(15));
  CHECK(simulated::wave(s, 1) == Approx(20));
  CHECK(simulated::wave(s, 3) == Approx(10));
  s.waveform = simulated::Waveform::ramp;
  CHECK(simulated::wave(s, 2) == Approx(15));
  CHECK(simulated::wave(s, 5) == Approx(12.5));
  s.waveform = simulated::Waveform::square;
  CHECK(simulated::wave(s, 1) == 20);
  CHECK(simulated::wave(s, 3) == 10);
  s.waveform = simulated::Waveform::constant;
  CHECK(simulated::wave(s, 7) == 10);
}
