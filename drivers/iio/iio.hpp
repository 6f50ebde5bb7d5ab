#pragma once
// iio: any Linux IIO sensor through sysfs (Documentation/ABI/testing/sysfs-bus-iio): the kernel's hx711 and
// maxim_thermocouple drivers, ADCs, temperature and humidity sensors. Polled: each poll reads <channel>_raw (and
// <channel>_offset / <channel>_scale, per channel or shared by the channel type) and publishes
// (raw + offset) * scale converted from the IIO unit to the one Tally publishes.
#include <optional>
#include <string>

#include "driver.hpp"

namespace tally::iio {

// The IIO ABI's unit for a channel type after scale, as Tally publishes it: quantity, unit, and the factor from
// the IIO unit (temp is in milli degrees Celsius, voltage in millivolts, ...). Unknown types: factor 1, no unit.
struct Unit {
  std::string quantity;
  std::string unit;
  double factor = 1;
};
Unit unit_of(const std::string& channel);  // "in_temp", "in_voltage0", "in_humidityrelative" ...
// The channel type's shared attribute prefix: "in_voltage0" -> "in_voltage", "in_temp_object" -> "in_temp".
std::string shared_prefix(const std::string& channel);

struct Settings {
  std::string path;                       // the iio:deviceN directory, or empty with iio_name
  std::string iio_name;                   // the device's `name` attribute
  std::string devices_dir = "/sys/bus/iio/devices";
  std::string channel = "in_voltage0";
  std::string quantity, unit;             // defaults from unit_of(channel)
  std::optional<double> calibration_scale;  // `scale`: counts per unit, replaces the IIO scale (kernel hx711)
  double calibration_offset = 0;            // `offset`: raw counts at zero, with `scale`
  std::chrono::milliseconds poll{1000};
};

// The device directory for `iio_name` under `devices_dir`; empty when there is none.
std::string find_by_name(const std::string& devices_dir, const std::string& iio_name);

std::unique_ptr<Driver> make(Settings s);
DriverFactory configure(TableReader& keys);

}  // namespace tally::iio
