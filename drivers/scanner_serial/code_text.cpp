#include "scanner_serial/code_text.hpp"

#include <cstdio>

namespace tally::scanner_serial {

namespace {

std::string hex(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

// Length of the well-formed UTF-8 sequence at `i` (RFC 3629 table: no overlong forms, no surrogates, nothing above
// U+10FFFF, no C1 controls U+0080..U+009F), or 0 when there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i + k < s.size() && b(k) >= lo && b(k) <= hi;
  };
  const unsigned c = b(0);
  if (c == 0xC2) return cont(1, 0xA0) ? 2 : 0;  // U+0080..U+009F are C1 control characters
  if (c >= 0xC3 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;  // not the surrogates D800..DFFF
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

}  // namespace

std::string text_problem(std::string_view bytes) {
  if (bytes.size() > kMaxCode) return "longer than " + std::to_string(kMaxCode) + " bytes";
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if ((c < 0x20 && c != 0x1D) || c == 0x7F) return "control byte " + hex(c) + " at byte " + std::to_string(i + 1);
    if (c < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(bytes, i);
    if (n == 0) return "not UTF-8 text at byte " + std::to_string(i + 1) + " (" + hex(c) + ")";
    i += n;
  }
  return {};
}

std::string escape_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace tally::scanner_serial
