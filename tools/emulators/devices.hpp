#pragma once
// The device kinds tally-emu can act as. Each is a subcommand: its options and its main loop. To add one (e.g. a
// scale speaking MT-SICS), write <kind>.cpp with these two functions and add a row to the table in main.cpp.
#include <vector>

#include "options.hpp"

namespace tally::emu {

// serial-line: a device that prints one value a line (Arduino sketch, USB thermometer, panel indicator).
std::vector<OptionSpec> serial_line_options();
int run_serial_line(const Options& options);

// scale: a bench scale speaking MT-SICS, A&D, Ohaus, Sartorius SBI or Adam, scripted through stdin or a FIFO.
std::vector<OptionSpec> scale_options();
int run_scale(const Options& options);

// scanner: a USB keyboard-wedge barcode scanner typing codes as input_event records into a FIFO.
std::vector<OptionSpec> scanner_options();
int run_scanner(const Options& options);

}  // namespace tally::emu
