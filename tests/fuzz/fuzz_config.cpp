// The configuration loader on any text: a Config or a config_error with positions, never a crash (tallyd
// --check-config must exit 78, not 139).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "config/config_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  try {
    (void)tally::parse_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  } catch (const tally::config_error&) {
  }
  return 0;
}
