#pragma once
// scale-serial: bench scales on RS-232/USB serial speaking MT-SICS, A&D, Ohaus, Sartorius SBI or Adam. The protocol
// parsers are pure (protocol.hpp); this driver does the port I/O, the polling, silence detection and tare/zero.
#include <chrono>
#include <string>

#include "driver.hpp"
#include "scale_serial/protocol.hpp"
#include "serial/serial_port.hpp"

namespace tally::scale_serial {

struct Settings {
  SerialSettings serial;
  const ProtocolInfo* protocol = nullptr;
  std::chrono::milliseconds poll{500};     // 0: the scale streams (MT-SICS is then sent SIR)
  std::chrono::milliseconds timeout{2000};  // no valid frame for this long: the scale is gone; 0 = never
  std::string unit = "g";                   // published unit: g, kg, lb, oz
};

// The default silence timeout: three polls, at least 2 s (a streaming scale: 2 s).
std::chrono::milliseconds default_timeout(std::chrono::milliseconds poll);

std::unique_ptr<Driver> make_driver(Settings s);
DriverFactory configure(TableReader& keys);

}  // namespace tally::scale_serial
