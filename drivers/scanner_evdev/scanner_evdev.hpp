#pragma once
// scanner-evdev: USB keyboard-wedge barcode scanners through their evdev node (or a FIFO of input_event records).
#include "driver.hpp"

namespace tally::scanner_evdev {

DriverFactory configure(TableReader& keys);

}  // namespace tally::scanner_evdev
