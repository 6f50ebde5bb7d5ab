// The serial byte stream: split into lines at arbitrary read boundaries (the first byte of the input chooses the
// chunk size), each line checked as the serial-line driver does (printable, then the first number in it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "serial/line_splitter.hpp"
#include "serial_line/serial_line.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  tally::LineSplitter splitter(256);
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) splitter.feed(bytes.substr(at, chunk), lines);
  for (const auto& line : lines) {
    if (line.size() > 256) __builtin_trap();  // the splitter's bound
    if (tally::printable_line(line)) (void)tally::serial_line::parse_value(line, nullptr);
  }
  return 0;
}
