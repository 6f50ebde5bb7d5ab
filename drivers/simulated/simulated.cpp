#include "simulated.hpp"

#include <cmath>
#include <random>

#include "table_reader.hpp"

namespace tally::simulated {

namespace {

class Simulated final : public Driver {
 public:
  explicit Simulated(Settings s) : s_(std::move(s)), rng_(std::random_device{}()) {}
  void open() override { start_ = std::chrono::steady_clock::now(); }
  void close() noexcept override {}
  std::chrono::milliseconds poll_interval() const noexcept override { return s_.poll; }

  void collect(InputSink& sink) override {
    const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start_;
    double v = s_.waveform == Waveform::random ? std::uniform_real_distribution<>(s_.min, s_.max)(rng_)
                                               : wave(s_, t.count());
    if (s_.noise > 0) v += std::uniform_real_distribution<>(-s_.noise, s_.noise)(rng_);
    sink.reading(Reading::measured(s_.quantity, std::round(v * 1000.0) / 1000.0, s_.unit));
  }

 private:
  Settings s_;
  std::mt19937 rng_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

double wave(const Settings& s, double t) {
  const double phase = std::fmod(t / s.period_s, 1.0);
  const double mid = (s.min + s.max) / 2, half = (s.max - s.min) / 2;
  switch (s.waveform) {
    case Waveform::sine: return mid + half * std::sin(2 * M_PI * phase);
    case Waveform::ramp: return s.min + (s.max - s.min) * phase;
    case Waveform::square: return phase < 0.5 ? s.max : s.min;
    case Waveform::random:
    case Waveform::constant: break;
  }
  return s.min;
}

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.quantity = keys.string("quantity", "value");
  s.unit = keys.string("unit", "");
  const auto w = keys.choice("waveform", "sine", {"sine", "ramp", "square", "random", "constant"});
  s.waveform = w == "ramp"     ? Waveform::ramp
               : w == "square" ? Waveform::square
               : w == "random" ? Waveform::random
               : w == "constant" ? Waveform::constant
                                 : Waveform::sine;
  s.min = keys.number("min", 0.0, -1e12, 1e12);
  s.max = keys.number("max", 100.0, -1e12, 1e12);
  if (s.max < s.min) keys.error("max", "must not be below min");
  s.period_s = keys.number("period_s", 60.0, 0.001, 1e9);
  s.noise = keys.number("noise", 0.0, 0.0, 1e12);
  s.poll = std::chrono::milliseconds(keys.integer("poll_ms", 1000, 1, 86'400'000));
  return [s] { return std::make_unique<Simulated>(s); };
}

}  // namespace tally::simulated
