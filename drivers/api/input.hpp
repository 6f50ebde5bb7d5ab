#pragma once
// What a driver hands to the framework: measured values (or faults), scanned codes and counted pulses, each at the
// moment it was taken. The framework, not the driver, adds the station, device name, seq and production context,
// matches scans against the scan rules and turns pulses into units.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tally {

using wall_time = std::chrono::system_clock::time_point;
using mono_time = std::chrono::steady_clock::time_point;

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

// One code as the scanner delivered it. `code` holds the data characters exactly, with the GS1 separator as ASCII
// GS (0x1D) and without the terminator or the AIM identifier; `symbology` is the AIM identifier when the scanner
// sent one ("]C1", "]d2", "]E0"...), else empty. GS1 parsing and the scan rules are the framework's job.
//
// `invalid` (non-empty) says the scanner delivered something that is not a code: control bytes, bytes that are not
// UTF-8 text, more than any symbology holds, an AIM identifier with no data. The station records such a scan with
// "valid": false and this text as its "reason", and it drives nothing (no rule, no unit, no lot). `code` then shows
// the bytes escaped so that different bytes never read the same: printable ASCII as is, a backslash as "\\", every
// other byte as "\xHH".
struct Scan {
  std::string code;
  std::string symbology;
  wall_time ts = std::chrono::system_clock::now();
  std::string invalid = {};
};

// What a pulse counts, from the driver's `counts` key: a registered unit, a rejected unit, or just a pulse total.
enum class PulseKind { units, rejects, pulses };

// `count` edges (after debounce) since the driver's previous pulse report, the latest at `mono` on the monotonic
// clock (the kernel's event timestamp where there is one) and `ts` on the wall clock. The framework keeps the
// running total across restarts.
struct Pulse {
  PulseKind kind = PulseKind::pulses;
  std::int64_t count = 1;
  mono_time mono = std::chrono::steady_clock::now();
  wall_time ts = std::chrono::system_clock::now();
};

}  // namespace tally
