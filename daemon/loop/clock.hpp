#pragma once
namespace tally {
// Whether the kernel considers the system clock synchronised (NTP/timesyncd). A Pi has no RTC: until it is, every
// record says "clock": "unsynced" so nobody trusts its timestamps blindly.
bool clock_synchronised() noexcept;
}  // namespace tally
