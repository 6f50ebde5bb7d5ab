#pragma once
// systemd's readiness protocol, without linking libsystemd (about 1 MB of resident libraries for one datagram):
// send "READY=1" etc. to the unix datagram socket named by $NOTIFY_SOCKET. Does nothing outside systemd.
// See sd_notify(3) and sd_watchdog_enabled(3) for the variables; docs/packaging.md for what tallyd sends when.
#include <chrono>
#include <string>

namespace tally {
void sd_notify(const char* state) noexcept;
inline void sd_notify(const std::string& state) noexcept { sd_notify(state.c_str()); }
// The service manager's watchdog interval ($WATCHDOG_USEC, for this process when $WATCHDOG_PID names one), or zero
// when no watchdog was asked for. A "WATCHDOG=1" must arrive within each interval; tallyd sends one every half.
std::chrono::microseconds watchdog_interval() noexcept;
}  // namespace tally
