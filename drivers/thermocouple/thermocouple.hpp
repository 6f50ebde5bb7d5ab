#pragma once
// max31855 and max6675: thermocouple amplifiers on SPI, polled. One full-duplex transfer (one chip-select cycle)
// per read; a thermocouple fault is a reading with `fault` and no value, a frame no chip could send is a drop.
#include <functional>
#include <memory>

#include "driver.hpp"
#include "spi.hpp"

namespace tally::thermocouple {

enum class Chip { max31855, max6675 };

struct Settings {
  Chip chip = Chip::max31855;
  std::string spi = "/dev/spidev0.0";
  std::uint32_t speed_hz = 1'000'000;
  std::chrono::milliseconds poll{1000};
  bool cold_junction = false;  // max31855 `channel = "cold-junction"`: report the chip's own temperature
  // Opens the bus; the real spidev unless the configuration asked for the fake (`fake = {...}`).
  std::function<std::unique_ptr<spi::Bus>()> open_bus;
};

std::unique_ptr<Driver> make(Settings s);
DriverFactory configure_max31855(TableReader& keys);
DriverFactory configure_max6675(TableReader& keys);

}  // namespace tally::thermocouple
