#pragma once
// What a driver hands to the framework: one measured value (or a fault) at the moment it was taken.
// The framework, not the driver, adds the station, device name, seq and production context.
#include <chrono>
#include <optional>
#include <string>

namespace tally {

using wall_time = std::chrono::system_clock::time_point;

struct Reading {
  std::string quantity;           // "temperature", "mass", "pulses"...
  std::optional<double> value;    // empty when `fault` is set
  std::string unit;               // "degC", "g"...
  std::optional<bool> stable;     // scales only: true only when the scale says so
  std::string fault;              // non-empty: a sensor fault ("open-circuit", "overload"); value is then null
  wall_time ts = std::chrono::system_clock::now();

  static Reading measured(std::string quantity, double value, std::string unit,
                          wall_time ts = std::chrono::system_clock::now()) {
    Reading r;
    r.quantity = std::move(quantity);
    r.value = value;
    r.unit = std::move(unit);
    r.ts = ts;
    return r;
  }
  static Reading faulted(std::string quantity, std::string unit, std::string fault,
                         wall_time ts = std::chrono::system_clock::now()) {
    Reading r;
    r.quantity = std::move(quantity);
    r.unit = std::move(unit);
    r.fault = std::move(fault);
    r.ts = ts;
    return r;
  }
};

}  // namespace tally
