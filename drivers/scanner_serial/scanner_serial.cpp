// scanner-serial: a CDC-ACM scanner is a tty that prints each code followed by CR, LF or CR LF (the usual
// "serial suffix" setting). The port is opened raw like every serial driver; the line splitter is shared.
// Every line is a scan: one that is not a code (line noise, a flood of random bytes) is an invalid scan, recorded
// with its bytes escaped and never driving a unit (code_text.hpp says what is text).
#include "scanner_serial.hpp"

#include "scanner_serial/code_text.hpp"

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
          sink.scan(Scan{std::move(l.code), std::move(l.symbology), ts, std::move(l.invalid)});
        },
        // The splitter keeps no part of a line past its limit: the scan says how long, not what.
        [&] { sink.scan(Scan{"", "", std::chrono::system_clock::now(), "longer than " + std::to_string(kMaxCode) + " bytes"}); });
  }

 private:
  SerialSettings s_;
  unique_fd port_;
  LineSplitter splitter_{kMaxCode};
};

}  // namespace

LineScan parse_line(std::string_view line) {
  LineScan l;
  if (std::string why = text_problem(line); !why.empty()) {
    l.code = escape_bytes(line);
    l.invalid = std::move(why);
    return l;
  }
  l.code = std::string(line);
  // AIM ISO/IEC 15424 symbology identifier: ']', the symbology letter, a modifier character.
  if (l.code.size() >= 3 && l.code[0] == ']' && std::isalpha(static_cast<unsigned char>(l.code[1])) &&
      std::isalnum(static_cast<unsigned char>(l.code[2]))) {
    l.symbology = l.code.substr(0, 3);
    l.code.erase(0, 3);
  }
  // PRODUCT: a scan that is only a symbology identifier is recorded as invalid, not dropped.
  if (l.code.empty()) l.invalid = "only a symbology identifier (" + l.symbology + "), no data";
  return l;
}

DriverFactory configure(TableReader& keys) {
  const SerialSettings s = read_serial_settings(keys);
  return [s] { return std::make_unique<ScannerSerial>(s); };
}

}  // namespace tally::scanner_serial
