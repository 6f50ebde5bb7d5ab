// scanner-serial: a CDC-ACM scanner is a tty that prints each code followed by CR, LF or CR LF (the usual
// "serial suffix" setting). The port is opened raw like every serial driver; the line splitter is shared.
#include "scanner_serial.hpp"

#include "device_error.hpp"
#include "serial/line_splitter.hpp"
#include "serial/read_lines.hpp"
#include "serial/serial_port.hpp"
#include "table_reader.hpp"

namespace tally::scanner_serial {

namespace {

class ScannerSerial final : public Driver {
 public:
  explicit ScannerSerial(SerialSettings s) : s_(std::move(s)) {}
  void open() override {
    port_ = open_serial(s_);
    splitter_.reset();
  }
  void close() noexcept override { port_.reset(); }
  int fd() const noexcept override { return port_.get(); }

  void collect(InputSink& sink) override {
    read_lines(
        port_.get(), s_.port, splitter_,
        [&](std::string_view line, wall_time ts) {
          LineScan l = parse_line(line);
          if (l.noise) return sink.dropped("noise");
          sink.scan(Scan{std::move(l.code), std::move(l.symbology), ts});
        },
        [&] { sink.dropped("code too long"); });
  }

 private:
  SerialSettings s_;
  unique_fd port_;
  LineSplitter splitter_{4096};  // a DataMatrix holds up to 3,116 characters
};

}  // namespace

LineScan parse_line(std::string_view line) {
  LineScan l;
  for (unsigned char c : line)
    if ((c < 0x20 && c != 0x1D) || c == 0x7F) return l.noise = true, l;
  l.code = std::string(line);
  // AIM ISO/IEC 15424 symbology identifier: ']', the symbology letter, a modifier character.
  if (l.code.size() >= 3 && l.code[0] == ']' && std::isalpha(static_cast<unsigned char>(l.code[1])) &&
      std::isalnum(static_cast<unsigned char>(l.code[2]))) {
    l.symbology = l.code.substr(0, 3);
    l.code.erase(0, 3);
  }
  if (l.code.empty()) l.noise = true;
  return l;
}

DriverFactory configure(TableReader& keys) {
  const SerialSettings s = read_serial_settings(keys);
  return [s] { return std::make_unique<ScannerSerial>(s); };
}

}  // namespace tally::scanner_serial
