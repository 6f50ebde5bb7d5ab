#pragma once
// systemd's readiness protocol, without linking libsystemd (about 1 MB of resident libraries for one datagram):
// send "READY=1" etc. to the unix datagram socket named by $NOTIFY_SOCKET. Does nothing outside systemd.
namespace tally {
void sd_notify(const char* state) noexcept;
}  // namespace tally
