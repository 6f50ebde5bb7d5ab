#pragma once
// Is a line from a serial scanner a code at all? Scanners send printable text: ASCII, the GS1 separator (GS, 0x1D)
// and, from 2D codes set to UTF-8 output, UTF-8. Line noise (a wrong baud rate, a glitch, a flood of random bytes)
// shows up as control bytes and byte sequences that are not UTF-8. Pure.
#include <cstddef>
#include <string>
#include <string_view>

namespace tally::scanner_serial {

// The most bytes a code may have: a Data Matrix holds at most 3,116 characters, a QR code 2,953 bytes
// (ISO/IEC 16022, ISO/IEC 18004); anything longer on one line is not a code.
inline constexpr std::size_t kMaxCode = 4096;

// Why `bytes` is not text a scanner sends ("control byte 0x07 at byte 3", "not UTF-8 at byte 4 (0xff)"), or "" when
// it is. GS is text here: it separates GS1 elements.
std::string text_problem(std::string_view bytes);

// `bytes` escaped so that different byte strings never give the same text: printable ASCII as is (but "\" as "\\"),
// every other byte as "\xHH" (upper-case hex).
std::string escape_bytes(std::string_view bytes);

}  // namespace tally::scanner_serial
