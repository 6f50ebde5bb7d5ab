#pragma once
// tallyctl calibrate DEVICE [mass=M] [readings=N]: finds `offset` and `scale` for a load cell (hx711, or iio with
// the kernel's hx711) by asking the running tallyd for raw counts (the device.raw command: tallyd holds the GPIO
// lines, so it is the one that can read them), first empty, then with a known mass.
#include "args.hpp"
#include "session.hpp"

namespace tallyctl {

int run_calibrate(Session& session, const Options& options, const std::string& token);

}  // namespace tallyctl
