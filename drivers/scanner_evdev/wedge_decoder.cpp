#include "wedge_decoder.hpp"

#include <cstring>

namespace tally::scanner_evdev {

namespace {

// Keypad digit keys (linux/input-event-codes.h): KP7..KP9 = 71..73, KP4..KP6 = 75..77, KP1..KP3 = 79..81, KP0 = 82.
int keypad_digit(std::uint16_t code) {
  switch (code) {
    case 82: return 0;
    case 79: return 1;
    case 80: return 2;
    case 81: return 3;
    case 75: return 4;
    case 76: return 5;
    case 77: return 6;
    case 71: return 7;
    case 72: return 8;
    case 73: return 9;
    default: return -1;
  }
}

bool printable(unsigned char c) { return c >= 0x20 && c != 0x7F; }  // and every byte of a UTF-8 sequence

}  // namespace

void EventReader::feed(std::string_view bytes, std::vector<InputEvent>& out) {
  partial_.append(bytes);
  // Offsets of type/code/value after the two-long timeval: 8 on 32-bit, 16 on 64-bit.
  const std::size_t at = size_ - 8;
  std::size_t pos = 0;
  const std::size_t half = (size_ - 8) / 2;  // sizeof(long): tv_sec, then tv_usec
  for (; pos + size_ <= partial_.size(); pos += size_) {
    InputEvent e;
    std::memcpy(&e.type, partial_.data() + pos + at, 2);
    std::memcpy(&e.code, partial_.data() + pos + at + 2, 2);
    std::memcpy(&e.value, partial_.data() + pos + at + 4, 4);
    std::int64_t usec = 0;
    if (half == 8) {
      std::memcpy(&usec, partial_.data() + pos + half, 8);
    } else {
      std::int32_t u32 = 0;
      std::memcpy(&u32, partial_.data() + pos + half, 4);
      usec = u32;
    }
    // linux/input-event-codes.h: EV_MAX is 0x1f; the kernel's tv_usec is 0..999999. Neither holds: out of step (a
    // truncated record before this one). What is buffered cannot be trusted: discard it (the driver then discards the
    // code in progress) and start again with the next read, which begins with a whole record from its writer.
    if (e.type > 0x1f || usec < 0 || usec > 999'999) {
      ++resyncs_;
      partial_.clear();
      return;
    }
    out.push_back(e);
  }
  partial_.erase(0, pos);
}

std::optional<GsForm> parse_gs(const std::string& text) {
  if (text == "ctrl+]") return GsForm{KEY_RIGHTBRACE_, true};
  if (text == "f12") return GsForm{KEY_F12_, false};
  if (text == "alt+029") return GsForm{0, false};  // understood anyway; no extra key
  const bool ctrl = text.rfind("ctrl+key:", 0) == 0;
  const std::string number = ctrl ? text.substr(9) : text.rfind("key:", 0) == 0 ? text.substr(4) : "";
  if (number.empty() || number.size() > 3 || number.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const int code = std::stoi(number);
  if (code < 1 || code > 255) return std::nullopt;
  return GsForm{static_cast<std::uint16_t>(code), ctrl};
}

void split_aim(std::string& code, std::string& symbology) {
  if (code.size() >= 3 && code[0] == ']' && ((code[1] >= 'A' && code[1] <= 'Z') || (code[1] >= 'a' && code[1] <= 'z')) &&
      ((code[2] >= '0' && code[2] <= '9') || (code[2] >= 'A' && code[2] <= 'Z'))) {
    symbology = code.substr(0, 3);
    code.erase(0, 3);
  }
}

WedgeDecoder::WedgeDecoder(DecoderSettings s) : s_(std::move(s)), keys_(s_.keymap) {}

void WedgeDecoder::reset() {
  keys_.reset();
  code_.clear();
  overlong_ = lost_ = skipping_ = false;
  ctrl_ = left_alt_ = 0;
  alt_digits_.clear();
}

void WedgeDecoder::append(std::string_view text, std::vector<Decoded>& out) {
  if (code_.size() + text.size() > s_.max_code) {
    if (!overlong_) out.push_back({{}, {}, "code longer than " + std::to_string(s_.max_code) + " characters"});
    overlong_ = true;
    return;
  }
  code_.append(text);
}

void WedgeDecoder::discard(std::vector<Decoded>& out) {
  if (lost_ || overlong_ || !code_.empty()) out.push_back({{}, {}, "input events lost (a truncated record) during a code"});
  reset();
}

void WedgeDecoder::finish(std::vector<Decoded>& out) {
  if (lost_) {
    out.push_back({{}, {}, "input events lost (SYN_DROPPED) during a code"});
  } else if (!overlong_ && !code_.empty()) {
    Decoded d{code_, {}, {}};
    split_aim(d.code, d.symbology);
    // A symbology identifier and nothing after it (a misread, or a stray "]C1" typed) is passed on with an empty
    // code: the station records it as an invalid scan ("no data after the symbology identifier"), never drops it.
    out.push_back(std::move(d));
  }
  code_.clear();
  overlong_ = lost_ = false;
}

void WedgeDecoder::feed(const InputEvent& e, clock::time_point now, std::vector<Decoded>& out) {
  if (e.type == EV_SYN_) {
    if (e.code == SYN_DROPPED_) {
      // The kernel's buffer overflowed: events (key releases too) are gone. The code in progress cannot be trusted
      // and the modifier state is unknown: drop the code, forget the modifiers, resume at the next SYN_REPORT.
      lost_ = skipping_ = true;
      keys_.reset();
      ctrl_ = left_alt_ = 0;
      alt_digits_.clear();
    } else if (e.code == SYN_REPORT_) {
      skipping_ = false;
    }
    return;
  }
  if (e.type != EV_KEY_ || skipping_) return;  // EV_MSC (scan codes), EV_LED...: nothing to type
  if (e.value == 2) return;                    // autorepeat: a held key is not typed again by a scanner
  const bool down = e.value == 1;
  if (e.code == KEY_LEFTCTRL_ || e.code == KEY_RIGHTCTRL_) ctrl_ = std::max(0, ctrl_ + (down ? 1 : -1));
  if (e.code == KEY_LEFTALT_) {
    left_alt_ = std::max(0, left_alt_ + (down ? 1 : -1));
    if (!down && left_alt_ == 0 && !alt_digits_.empty()) {
      // Alt released after keypad digits: the character with that decimal code (Windows Alt codes; Alt+029 = GS).
      const int value = std::stoi(alt_digits_) % 256;
      alt_digits_.clear();
      if (value == 0x1D || (value >= 0x20 && value < 0x7F)) append(std::string(1, static_cast<char>(value)), out);
    }
  }
  if (!down) {
    keys_.release(e.code);
    return;
  }
  last_key_ = now;
  if ((s_.terminator == Terminator::enter && (e.code == KEY_ENTER_ || e.code == KEY_KPENTER_)) ||
      (s_.terminator == Terminator::tab && e.code == KEY_TAB_)) {
    keys_.press(e.code);
    finish(out);
    return;
  }
  if (left_alt_ > 0 && keypad_digit(e.code) >= 0) {
    keys_.press(e.code);
    // Only the last three digits count (below): a stuck Alt under a flood of keypad digits keeps three, not all.
    if (alt_digits_.size() == 3) alt_digits_.erase(0, 1);
    alt_digits_ += static_cast<char>('0' + keypad_digit(e.code));
    return;
  }
  const bool gs = s_.gs.key != 0 && e.code == s_.gs.key && (s_.gs.ctrl ? ctrl_ > 0 : ctrl_ == 0);
  std::string text = keys_.press(e.code);
  if (gs || text == "\x1D") return append("\x1D", out);  // also xkb's Ctrl transformation of "]" (US layout)
  if (ctrl_ > 0 || left_alt_ > 0) return;  // other control combinations type nothing into a code
  for (unsigned char c : text)
    if (!printable(c)) return;  // Enter/Tab when not the terminator, Escape, Backspace: not part of a code
  append(text, out);
}

void WedgeDecoder::idle(clock::time_point now, std::vector<Decoded>& out) {
  if (const auto d = deadline(); d && now >= *d) finish(out);
}

std::optional<WedgeDecoder::clock::time_point> WedgeDecoder::deadline() const {
  if (code_.empty() && !lost_ && !overlong_) return std::nullopt;
  return last_key_ + s_.timeout;
}

}  // namespace tally::scanner_evdev
