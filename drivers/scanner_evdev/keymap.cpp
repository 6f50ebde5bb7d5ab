#include "keymap.hpp"

#include <xkbcommon/xkbcommon.h>

namespace tally::scanner_evdev {

namespace {
// xkb key codes are evdev codes + 8 (the X11 convention xkbcommon keeps; xkbcommon.h, "xkb_keycode_t").
constexpr std::uint32_t kXkbOffset = 8;
}  // namespace

std::shared_ptr<const Keymap> Keymap::load(const std::string& layout) {
  std::string name = layout, variant;
  if (const auto open = layout.find('('); open != std::string::npos && layout.back() == ')') {
    name = layout.substr(0, open);
    variant = layout.substr(open + 1, layout.size() - open - 2);
  }
  if (name.empty()) return nullptr;
  std::shared_ptr<Keymap> k(new Keymap());
  // No environment names: XKB_DEFAULT_LAYOUT and friends must not change what a configured scanner types.
  k->context_ = xkb_context_new(XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
  if (!k->context_) return nullptr;
  xkb_context_set_log_level(k->context_, XKB_LOG_LEVEL_CRITICAL);
  const xkb_rule_names names{"evdev", "pc105", name.c_str(), variant.c_str(), ""};
  k->keymap_ = xkb_keymap_new_from_names(k->context_, &names, XKB_KEYMAP_COMPILE_NO_FLAGS);
  if (!k->keymap_) return nullptr;
  return k;
}

Keymap::~Keymap() {
  if (keymap_) xkb_keymap_unref(keymap_);
  if (context_) xkb_context_unref(context_);
}

std::optional<Stroke> Keymap::stroke_for(char32_t c) const {
  const xkb_mod_index_t shift = xkb_keymap_mod_get_index(keymap_, XKB_MOD_NAME_SHIFT);
  const xkb_mod_index_t altgr = xkb_keymap_mod_get_index(keymap_, "Mod5");  // ISO_Level3_Shift on RIGHTALT
  std::optional<Stroke> best;
  int best_rank = 99;
  // Main block only (KEY_1 = 2 ... KEY_SLASH = 53, KEY_SPACE = 57, KEY_102ND = 86): keypad digits depend on NumLock.
  for (std::uint16_t code = 2; code <= 86; ++code) {
    if (code > 57 && code != 86) continue;
    const xkb_keycode_t key = code + kXkbOffset;
    const xkb_layout_index_t group = 0;
    const xkb_level_index_t levels = xkb_keymap_num_levels_for_key(keymap_, key, group);
    for (xkb_level_index_t level = 0; level < levels; ++level) {
      const xkb_keysym_t* syms = nullptr;
      if (xkb_keymap_key_get_syms_by_level(keymap_, key, group, level, &syms) != 1) continue;
      if (xkb_keysym_to_utf32(syms[0]) != c) continue;
      xkb_mod_mask_t masks[8];
      const std::size_t n = xkb_keymap_key_get_mods_for_level(keymap_, key, group, level, masks, 8);
      for (std::size_t i = 0; i < n; ++i) {
        const xkb_mod_mask_t m = masks[i];
        int rank = 99;
        Stroke s{code, false, false};
        if (m == 0) rank = 0;
        else if (m == (1u << shift)) rank = 1, s.shift = true;
        else if (altgr != XKB_MOD_INVALID && m == (1u << altgr)) rank = 2, s.altgr = true;
        else if (altgr != XKB_MOD_INVALID && m == ((1u << altgr) | (1u << shift))) rank = 3, s.altgr = s.shift = true;
        if (rank < best_rank) best_rank = rank, best = s;
      }
    }
  }
  return best;
}

KeyState::KeyState(std::shared_ptr<const Keymap> keymap) : keymap_(std::move(keymap)) { reset(); }

KeyState::~KeyState() {
  if (state_) xkb_state_unref(state_);
}

void KeyState::reset() {
  if (state_) xkb_state_unref(state_);
  state_ = xkb_state_new(keymap_->get());
  const xkb_mod_index_t num = xkb_keymap_mod_get_index(keymap_->get(), XKB_MOD_NAME_NUM);
  if (num != XKB_MOD_INVALID) xkb_state_update_mask(state_, 0, 0, 1u << num, 0, 0, 0);
}

std::string KeyState::press(std::uint16_t code) {
  // Text first, then the state: the order xkbcommon documents for a key press (xkb_state_update_key).
  char buf[16] = {};
  xkb_state_key_get_utf8(state_, code + kXkbOffset, buf, sizeof buf);
  xkb_state_update_key(state_, code + kXkbOffset, XKB_KEY_DOWN);
  return buf;
}

void KeyState::release(std::uint16_t code) { xkb_state_update_key(state_, code + kXkbOffset, XKB_KEY_UP); }

}  // namespace tally::scanner_evdev
