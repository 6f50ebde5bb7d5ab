#pragma once
// For a driver's own tests: build it from TOML the way the framework does, and record what it reports. No daemon
// code is involved, so a driver folder's tests link only the driver and this.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "driver.hpp"

namespace tally::test {

struct ConfiguredDriver {
  DriverFactory make;                  // empty when there were problems
  std::vector<std::string> problems;   // "PATH:LINE:COLUMN: message", as --check-config prints them
};

// Reads [[devices]] table number `index` of `document` with `configure` (the driver's registry function). The
// common keys the framework reads (name, driver, stale_s, publish_every_s, deadband, feedback) are accepted and
// ignored.
ConfiguredDriver configure_driver(DriverFactory (*configure)(TableReader&), std::string_view document,
                                  const std::string& path = "t.toml", std::size_t index = 0);
// How many [[devices]] tables `document` has (a sample.toml's).
std::size_t device_count(std::string_view document);
// The same, throwing std::runtime_error with the first problem when there is one.
std::unique_ptr<Driver> make_driver(DriverFactory (*configure)(TableReader&), std::string_view document);

// Everything a driver reported, in order of kind.
struct RecordingSink final : InputSink {
  std::vector<Reading> readings;
  std::vector<Scan> scans;
  std::vector<Pulse> pulses;
  std::vector<std::string> drops;
  std::vector<std::chrono::milliseconds> wakeups;  // every wake_after() request
  void reading(Reading r) override { readings.push_back(std::move(r)); }
  void scan(Scan s) override { scans.push_back(std::move(s)); }
  void pulse(Pulse p) override { pulses.push_back(p); }
  void dropped(std::string_view why) override { drops.emplace_back(why); }
  void wake_after(std::chrono::milliseconds d) override { wakeups.push_back(d); }
};

}  // namespace tally::test
