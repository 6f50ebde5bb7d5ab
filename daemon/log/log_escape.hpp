#pragma once
// Text from outside (a command, a device's line, a broker's reason) goes into the log escaped: a control character
// or a newline in it could otherwise forge log lines or terminal escapes. Bytes >= 0x80 pass (UTF-8 names).
#include <cstdio>
#include <string>
#include <string_view>

namespace tally {

// Control characters as \n, \r, \t or \xNN, a backslash doubled; cut at `max_bytes` with "...(N bytes)".
inline std::string escape_for_log(std::string_view text, std::size_t max_bytes = 200) {
  std::string out;
  const std::size_t shown = text.size() > max_bytes ? max_bytes : text.size();
  out.reserve(shown + 16);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch == '\n') out += "\\n";
    else if (ch == '\r') out += "\\r";
    else if (ch == '\t') out += "\\t";
    else if (ch == '\\') out += "\\\\";
    else if (ch < 0x20 || ch == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  if (shown < text.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace tally
