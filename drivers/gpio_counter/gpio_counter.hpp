#pragma once
// gpio-counter: photo-eyes, foot switches, reject buttons on a GPIO line. Edge events come from the line request's
// descriptor in the main loop; debounced in software on the kernel's timestamps; each counted edge is a Pulse of
// the configured kind (the framework turns units/rejects into unit.add/unit.reject and keeps running totals).
#include <functional>
#include <memory>

#include "debounce.hpp"
#include "driver.hpp"
#include "gpio.hpp"

namespace tally::gpio_counter {

struct Settings {
  std::string chip = "gpiochip0";
  std::string line;
  gpio::Edge edge = gpio::Edge::rising;   // which settled transitions count (logical: rising = becomes active)
  gpio::Bias bias = gpio::Bias::as_is;
  bool active_low = false;
  std::chrono::milliseconds debounce{20};
  PulseKind counts = PulseKind::pulses;
  std::function<std::unique_ptr<gpio::Chip>()> open_chip;
};

std::unique_ptr<Driver> make(Settings s);
DriverFactory configure(TableReader& keys);

}  // namespace tally::gpio_counter
