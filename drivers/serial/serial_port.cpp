#include "serial_port.hpp"

#include <fcntl.h>
#include <termios.h>

#include <array>
#include <utility>

#include "device_error.hpp"
#include "table_reader.hpp"

namespace tally {

namespace {
constexpr std::array<std::pair<int, speed_t>, 12> bauds{{{1200, B1200},
                                                          {2400, B2400},
                                                          {4800, B4800},
                                                          {9600, B9600},
                                                          {19200, B19200},
                                                          {38400, B38400},
                                                          {57600, B57600},
                                                          {115200, B115200},
                                                          {230400, B230400},
                                                          {460800, B460800},
                                                          {500000, B500000},
                                                          {921600, B921600}}};
}  // namespace

bool valid_baud(int baud) {
  for (const auto& [rate, code] : bauds)
    if (rate == baud) return true;
  return false;
}

bool valid_framing(const std::string& f) {
  return f.size() == 3 && f[0] >= '5' && f[0] <= '8' && std::string("NEOMS").find(f[1]) != std::string::npos &&
         (f[2] == '1' || f[2] == '2');
}

SerialSettings read_serial_settings(TableReader& keys) {
  SerialSettings s;
  s.port = keys.required_string("port");
  s.baud = static_cast<int>(keys.integer("baud", 9600, 50, 4000000));
  if (keys.has("baud") && !valid_baud(s.baud)) {
    keys.error("baud", std::to_string(s.baud) + " is not a standard rate (1200 ... 921600)");
    s.baud = 9600;
  }
  s.framing = keys.string("framing", "8N1");
  if (!valid_framing(s.framing)) {
    keys.error("framing", "\"" + s.framing + "\" is not data bits 5-8, parity N/E/O/M/S, stop bits 1-2 (e.g. \"7E1\")");
    s.framing = "8N1";
  }
  return s;
}

termios make_termios(const SerialSettings& s, termios tio) {
  cfmakeraw(&tio);
  speed_t speed = B9600;
  for (const auto& [rate, code] : bauds)
    if (rate == s.baud) speed = code;
  cfsetispeed(&tio, speed);
  cfsetospeed(&tio, speed);

  tio.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CMSPAR | CRTSCTS);
  static constexpr tcflag_t sizes[] = {CS5, CS6, CS7, CS8};
  tio.c_cflag |= sizes[s.framing[0] - '5'] | CREAD | CLOCAL;
  switch (s.framing[1]) {
    case 'E': tio.c_cflag |= PARENB; break;
    case 'O': tio.c_cflag |= PARENB | PARODD; break;
    case 'M': tio.c_cflag |= PARENB | PARODD | CMSPAR; break;  // mark: parity bit always 1
    case 'S': tio.c_cflag |= PARENB | CMSPAR; break;           // space: parity bit always 0
    default: break;
  }
  if (s.framing[2] == '2') tio.c_cflag |= CSTOPB;
  if (s.framing[1] != 'N') tio.c_iflag |= INPCK;  // check parity; bad bytes arrive and the parser rejects them
  // VMIN=1 (not 0): with VMIN=0 and VTIME=0, Linux's n_tty returns 0 for "no data" even on a non-blocking fd, and
  // 0 must mean hang-up. With VMIN=1 "no data" is EAGAIN.
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  return tio;
}

unique_fd open_serial(const SerialSettings& s) {
  // O_NOCTTY: a tty must never become our controlling terminal (a hang-up would then signal the daemon).
  unique_fd fd(::open(s.port.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw_from_errno("open " + s.port);

  termios tio{};
  if (tcgetattr(fd.get(), &tio) != 0) throw_from_errno("tcgetattr " + s.port);
  tio = make_termios(s, tio);
  if (tcsetattr(fd.get(), TCSANOW, &tio) != 0) throw_from_errno("tcsetattr " + s.port);
  tcflush(fd.get(), TCIFLUSH);  // drop what queued up before we were listening: it may be hours old
  return fd;
}

}  // namespace tally
