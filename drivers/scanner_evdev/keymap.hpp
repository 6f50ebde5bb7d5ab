#pragma once
// A keyboard layout as a wedge scanner types in it, through libxkbcommon and the system's xkb-data (the same
// tables X and Wayland use; no X server is involved). evdev reports key POSITIONS (a US-layout name for each): a
// scanner set to German QWERTZ sends KEY_Y's position for "z". The layout turns positions plus modifiers into text.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct xkb_context;
struct xkb_keymap;
struct xkb_state;

namespace tally::scanner_evdev {

// One key stroke that types a character: the evdev key code and the modifier keys held around it.
struct Stroke {
  std::uint16_t code = 0;
  bool shift = false;
  bool altgr = false;
};

class Keymap {
 public:
  // `layout` is an xkb layout name with an optional variant: "us", "de", "de(nodeadkeys)", "fr", "gb".
  // nullopt when xkb-data has no such layout.
  static std::shared_ptr<const Keymap> load(const std::string& layout);
  ~Keymap();
  Keymap(const Keymap&) = delete;
  Keymap& operator=(const Keymap&) = delete;

  xkb_keymap* get() const { return keymap_; }
  // The stroke that types `c` (printable ASCII) in this layout on the main block, preferring no modifier, then
  // Shift, then AltGr; nullopt when the layout cannot type it with those.
  std::optional<Stroke> stroke_for(char32_t c) const;

 private:
  Keymap() = default;
  xkb_context* context_ = nullptr;
  xkb_keymap* keymap_ = nullptr;
};

// The keyboard state: modifiers held and locked, updated from key events, typing text. NumLock starts locked:
// a grabbed scanner has no console to have switched it on, and scanners that type digits on the keypad expect it.
class KeyState {
 public:
  explicit KeyState(std::shared_ptr<const Keymap> keymap);
  ~KeyState();
  KeyState(const KeyState&) = delete;
  KeyState& operator=(const KeyState&) = delete;
  void reset();
  // The text a press of evdev key `code` types in the current state (empty for modifiers and dead keys), then the
  // state updated for the press.
  std::string press(std::uint16_t code);
  void release(std::uint16_t code);

 private:
  std::shared_ptr<const Keymap> keymap_;
  xkb_state* state_ = nullptr;
};

}  // namespace tally::scanner_evdev
