#pragma once
// Keyboard-wedge decoding: the bytes a scanner's evdev node (or a FIFO of the same records) delivers -> codes. Pure:
// bytes and arrival times in, codes out; the I/O is scanner_evdev.cpp's. Tested from raw event sequences.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keymap.hpp"

namespace tally::scanner_evdev {

// linux/input-event-codes.h
inline constexpr std::uint16_t EV_SYN_ = 0, EV_KEY_ = 1, SYN_REPORT_ = 0, SYN_DROPPED_ = 3;
inline constexpr std::uint16_t KEY_TAB_ = 15, KEY_RIGHTBRACE_ = 27, KEY_ENTER_ = 28, KEY_LEFTCTRL_ = 29,
                               KEY_LEFTALT_ = 56, KEY_F12_ = 88, KEY_KPENTER_ = 96, KEY_RIGHTCTRL_ = 97,
                               KEY_LEFTSHIFT_ = 42, KEY_RIGHTALT_ = 100;

struct InputEvent {
  std::uint16_t type = 0, code = 0;
  std::int32_t value = 0;
};

// struct input_event is { time; __u16 type; __u16 code; __s32 value; }, its time two `long`s (linux/input.h, also
// after the y2038 change, which keeps __kernel_ulong_t seconds on 32-bit): 24 bytes on 64-bit, 16 on 32-bit (armhf).
// A real device always delivers this machine's size; a FIFO carries whatever its writer wrote.
inline constexpr std::size_t kNativeEventSize = 2 * sizeof(long) + 8;

// Splits a byte stream into events of `size` (16 or 24) bytes, host byte order; a record split across reads is
// completed by the next feed().
class EventReader {
 public:
  explicit EventReader(std::size_t size) : size_(size) {}
  void feed(std::string_view bytes, std::vector<InputEvent>& out);
  void reset() { partial_.clear(); }
  std::size_t size() const { return size_; }
  // Bytes of a record not yet complete. A writer (the kernel, the emulator) writes whole records in one write(), so
  // bytes that stay incomplete while nothing follows are a truncated record: drop_partial() discards them and the
  // next record starts in step again.
  std::size_t pending() const { return partial_.size(); }
  std::size_t drop_partial() { return std::exchange(partial_, {}).size(); }
  // Records that cannot be an input_event (type beyond EV_MAX, microseconds beyond 999,999): the stream is out of
  // step. feed() then discards what it holds and counts it here (the caller discards the code in progress).
  std::size_t resyncs() const { return resyncs_; }

 private:
  std::size_t size_;
  std::string partial_;
  std::size_t resyncs_ = 0;
};

enum class Terminator { enter, tab, none };

// How the scanner types the GS1 separator (ASCII GS, 0x1D). Alt + keypad 0,2,9 (the Windows "Alt code") is always
// understood, whatever this says, because some scanners type every non-ASCII-safe character that way.
struct GsForm {
  std::uint16_t key = KEY_RIGHTBRACE_;  // the key pressed
  bool ctrl = true;                     // with Ctrl held ("ctrl+]", the ASCII convention: ] is 0x5D, GS is 0x1D)
};
// "ctrl+]" (default), "f12", "alt+029", "ctrl+key:N" or "key:N" (evdev key code N); nullopt when not one of those.
std::optional<GsForm> parse_gs(const std::string& text);

struct DecoderSettings {
  std::shared_ptr<const Keymap> keymap;
  Terminator terminator = Terminator::enter;
  GsForm gs;
  std::chrono::milliseconds timeout{100};  // a code with no key for this long ends (scanners without terminator)
  std::size_t max_code = 4096;             // a DataMatrix holds up to 3,116 characters; beyond: a stuck key
};

// A finished code, or a reason a code was thrown away.
struct Decoded {
  std::string code;       // GS as 0x1D; AIM identifier split off into symbology
  std::string symbology;  // "]C1" when the code started with an AIM identifier
  std::string dropped;    // non-empty: nothing to scan, this is why (the code is lost)
};

class WedgeDecoder {
 public:
  using clock = std::chrono::steady_clock;
  explicit WedgeDecoder(DecoderSettings s);
  // One event, arrived at `now`.
  void feed(const InputEvent& e, clock::time_point now, std::vector<Decoded>& out);
  // No event since: ends a pending code when the inter-key timeout has passed.
  void idle(clock::time_point now, std::vector<Decoded>& out);
  // The event stream lost records (a truncated input_event): the code in progress cannot be trusted. Drops it
  // (reported in `out` when there was one) and forgets the modifiers, as after a reset().
  void discard(std::vector<Decoded>& out);
  // When idle() should be called next, if a code is pending.
  std::optional<clock::time_point> deadline() const;
  void reset();

 private:
  void finish(std::vector<Decoded>& out);
  void append(std::string_view text, std::vector<Decoded>& out);
  DecoderSettings s_;
  KeyState keys_;
  std::string code_;
  bool overlong_ = false;
  bool lost_ = false;            // SYN_DROPPED: events were lost; skip to the next SYN_REPORT, drop the code
  bool skipping_ = false;
  int ctrl_ = 0, left_alt_ = 0;  // held counts (left and right Ctrl)
  std::string alt_digits_;       // keypad digits typed while left Alt is held
  clock::time_point last_key_{};
};

// "]C1..." -> symbology "]C1" and the rest (AIM ISO/IEC 15424: ']', a symbology letter, a modifier character).
void split_aim(std::string& code, std::string& symbology);

}  // namespace tally::scanner_evdev
