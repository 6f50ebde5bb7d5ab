#pragma once
// Typed errors raised at the edges. They are caught in one place each (the config loader's caller, the device
// runner, the buffer's owner), which decides whether to retry or give up. Bad frames and sensor faults are NOT
// errors: they are data (a reading with a fault, a counted drop).
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "device_error.hpp"

namespace tally {

// One problem in a configuration file, already formatted as "PATH:LINE:COLUMN: message" (or "PATH: message").
struct config_error : std::runtime_error {
  explicit config_error(std::vector<std::string> problems);
  std::vector<std::string> problems;
};

// The buffer database failed in a way the caller must handle (cannot create the file, disk full on commit...).
struct buffer_error : std::runtime_error {
  buffer_error(int sqlite_code, const std::string& what) : std::runtime_error(what), sqlite_code(sqlite_code) {}
  int sqlite_code;
};


}  // namespace tally
