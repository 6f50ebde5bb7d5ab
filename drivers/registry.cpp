// The driver registry: an explicit table. Adding a driver = one folder and one row here.
#include <array>

#include "driver.hpp"
#include "scale_serial/scale_serial.hpp"
#include "scanner_evdev/scanner_evdev.hpp"
#include "scanner_serial/scanner_serial.hpp"
#include "serial_line/serial_line.hpp"
#include "simulated/simulated.hpp"

namespace tally {

namespace {
constexpr std::array registry{
    DriverSpec{"scale-serial", "bench scales: MT-SICS, A&D, Ohaus, Sartorius, Adam", &scale_serial::configure},
    DriverSpec{"scanner-evdev", "USB keyboard-wedge barcode scanners (evdev, or a FIFO of input_event records)",
               &scanner_evdev::configure},
    DriverSpec{"scanner-serial", "USB serial (CDC-ACM) barcode scanners", &scanner_serial::configure},
    DriverSpec{"serial-line", "any device that prints one value a line", &serial_line::configure},
    DriverSpec{"simulated", "a made-up signal for demos and tests", &simulated::configure},
};
}  // namespace

std::span<const DriverSpec> driver_registry() { return registry; }

const DriverSpec* find_driver(std::string_view name) {
  for (const auto& spec : registry)
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace tally
