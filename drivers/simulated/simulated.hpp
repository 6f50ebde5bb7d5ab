#pragma once
// simulated: a made-up signal for demos and tests. Polled; no hardware.
#include "driver.hpp"

namespace tally::simulated {

enum class Waveform { sine, ramp, square, random, constant };

struct Settings {
  std::string quantity = "value";
  std::string unit;
  Waveform waveform = Waveform::sine;
  double min = 0.0, max = 100.0;
  double period_s = 60.0;
  double noise = 0.0;  // uniform +- noise added to every value
  std::chrono::milliseconds poll{1000};
};

// The waveform's value `t` seconds after start, without noise. Pure, for tests.
double wave(const Settings& s, double t);

DriverFactory configure(TableReader& keys);

}  // namespace tally::simulated
