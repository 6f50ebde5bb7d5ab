#pragma once
// The one error a driver throws: its device is absent, gone or unusable. Carries errno so the runner can tell
// "unplugged" (ENOENT, ENODEV, EIO) from "misconfigured" (EACCES, EINVAL) in its log and the device state.
// Bad frames and sensor faults are NOT errors: they are data (InputSink::dropped, a Reading with a fault).
// The runner also survives anything else derived from std::exception (libgpiod's std::system_error, bad_alloc),
// but a driver that means "the device is gone" says so with device_error.
#include <cerrno>
#include <string>
#include <system_error>

namespace tally {

struct device_error : std::system_error {
  device_error(int errnum, const std::string& what) : std::system_error(errnum, std::generic_category(), what) {}
  int errnum() const noexcept { return code().value(); }
};

// Throws device_error from the current errno, like libgpiod's throw_from_errno().
[[noreturn]] inline void throw_from_errno(const std::string& what) { throw device_error(errno, what); }

}  // namespace tally
