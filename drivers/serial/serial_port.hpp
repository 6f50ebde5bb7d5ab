#pragma once
// A serial port opened raw with the configured baud rate and framing. Shared by every serial driver.
#include <termios.h>

#include <string>

#include "unique_fd.hpp"

namespace tally {

class TableReader;

struct SerialSettings {
  std::string port;           // may be a stable symlink such as /dev/serial/by-id/usb-...
  int baud = 9600;
  std::string framing = "8N1";  // data bits 5-8, parity N/E/O/M/S, stop bits 1-2
};

// Reads `port`, `baud` and `framing` (reporting problems through the reader).
SerialSettings read_serial_settings(TableReader& keys);
bool valid_framing(const std::string& framing);
bool valid_baud(int baud);

// The port settings for `s` on top of `base` (what tcgetattr returned): raw, CLOCAL, framing and baud. Pure, so
// framing is tested here: a pseudo-terminal silently forces 8N1 whatever it is told.
struct termios make_termios(const SerialSettings& s, struct termios base);

// Opens non-blocking, raw (no echo, no line editing, no CR/LF translation), CLOCAL so a missing carrier does not
// hang the open, with the framing really set on the line. Throws device_error.
unique_fd open_serial(const SerialSettings& s);

}  // namespace tally
