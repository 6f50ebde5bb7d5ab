// Every scale protocol parser on one line of whatever a serial port delivered: a frame, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scale_serial/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  for (const auto& p : tally::scale_serial::protocols()) (void)p.parse(line);
  return 0;
}
