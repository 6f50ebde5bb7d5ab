// The wedge decoder from raw event sequences. Key codes are those of linux/input-event-codes.h (listed in
// shared/reference/devices.md): KEY_1..KEY_9 = 2..10, KEY_0 = 11, Q..P = 16..25, A..L = 30..38, Z..M = 44..50.
// The sequences are what a USB HID keyboard produces through the kernel's hid-input: EV_MSC/MSC_SCAN, EV_KEY, then
// EV_SYN/SYN_REPORT per key change.
#include <catch2/catch.hpp>

#include <cstring>

#include "wedge_decoder.hpp"

using namespace tally::scanner_evdev;
using namespace std::chrono_literals;
using clock_type = WedgeDecoder::clock;

namespace {

constexpr std::uint16_t KEY_1 = 2, KEY_2 = 3, KEY_3 = 4, KEY_0 = 11, KEY_MINUS = 12, KEY_A = 30, KEY_B = 48,
                        KEY_C = 46, KEY_Y = 21, KEY_Z = 44, KEY_SEMICOLON = 39, KEY_KP0 = 82, KEY_KP2 = 80,
                        KEY_KP9 = 73, KEY_NUMLOCK = 69, KEY_Q = 16;

struct Script {
  std::vector<InputEvent> events;
  void key(std::uint16_t code, int value) {
    events.push_back({4, 4, 0x70000 + code});  // EV_MSC MSC_SCAN (the value is the HID usage; ignored)
    events.push_back({EV_KEY_, code, value});
    events.push_back({EV_SYN_, SYN_REPORT_, 0});
  }
  void tap(std::uint16_t code) { key(code, 1), key(code, 0); }
  void with(std::uint16_t modifier, std::uint16_t code) { key(modifier, 1), tap(code), key(modifier, 0); }
  void shifted(std::uint16_t code) { with(KEY_LEFTSHIFT_, code); }
  void enter() { tap(KEY_ENTER_); }
};

DecoderSettings settings(const std::string& layout = "us", Terminator t = Terminator::enter) {
  DecoderSettings s;
  s.keymap = Keymap::load(layout);
  REQUIRE(s.keymap);
  s.terminator = t;
  return s;
}

std::vector<Decoded> run(WedgeDecoder& d, const Script& script, clock_type::time_point at = clock_type::time_point{}) {
  std::vector<Decoded> out;
  for (const auto& e : script.events) d.feed(e, at, out);
  return out;
}

std::vector<Decoded> run(const Script& script, DecoderSettings s = settings()) {
  WedgeDecoder d(std::move(s));
  return run(d, script);
}

std::string bytes_of(const std::vector<InputEvent>& events, std::size_t size) {
  std::string out;
  for (const auto& e : events) {
    std::string rec(size, '\0');
    const std::uint32_t sec = 1764400000, usec = 123456;  // the time fields: never read by the decoder
    std::memcpy(rec.data(), &sec, 4);
    std::memcpy(rec.data() + size / 2 - 4, &usec, 4);
    std::memcpy(rec.data() + size - 8, &e.type, 2);
    std::memcpy(rec.data() + size - 6, &e.code, 2);
    std::memcpy(rec.data() + size - 4, &e.value, 4);
    out += rec;
  }
  return out;
}

}  // namespace

TEST_CASE("digits and letters, ended by Enter") {
  Script s;
  for (auto k : {KEY_1, KEY_2, KEY_3, KEY_0, KEY_A, KEY_B, KEY_C}) s.tap(k);
  s.enter();
  const auto out = run(s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "1230abc");
  CHECK(out[0].symbology.empty());
}

TEST_CASE("shifted letters and symbols: Shift is tracked from press and release") {
  Script s;
  s.shifted(KEY_A);            // A
  s.tap(KEY_A);                // a
  s.shifted(KEY_SEMICOLON);    // :
  s.shifted(KEY_1);            // !
  s.tap(KEY_MINUS);            // -
  s.key(54, 1);  // right shift works too
  s.tap(KEY_B);
  s.key(54, 0);
  s.enter();
  const auto out = run(s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "Aa:!-B");
}

TEST_CASE("the GS1 separator in each configured form becomes ASCII GS") {
  const std::string expected = std::string("10AB") + '\x1D' + "21";
  SECTION("Ctrl+] (default)") {
    Script s;
    s.tap(KEY_1), s.tap(KEY_0), s.shifted(KEY_A), s.shifted(KEY_B);
    s.with(KEY_LEFTCTRL_, KEY_RIGHTBRACE_);
    s.tap(KEY_2), s.tap(KEY_1), s.enter();
    CHECK(run(s)[0].code == expected);
  }
  SECTION("F12") {
    auto st = settings();
    st.gs = *parse_gs("f12");
    Script s;
    s.tap(KEY_1), s.tap(KEY_0), s.shifted(KEY_A), s.shifted(KEY_B), s.tap(KEY_F12_), s.tap(KEY_2), s.tap(KEY_1);
    s.enter();
    CHECK(run(s, st)[0].code == expected);
  }
  SECTION("Alt + keypad 0, 2, 9 (whatever gs says)") {
    Script s;
    s.tap(KEY_1), s.tap(KEY_0), s.shifted(KEY_A), s.shifted(KEY_B);
    s.key(KEY_LEFTALT_, 1), s.tap(KEY_KP0), s.tap(KEY_KP2), s.tap(KEY_KP9), s.key(KEY_LEFTALT_, 0);
    s.tap(KEY_2), s.tap(KEY_1), s.enter();
    CHECK(run(s)[0].code == expected);
  }
  SECTION("a configured key code, and Ctrl+] then no longer means GS") {
    auto st = settings();
    st.gs = *parse_gs("key:87");  // KEY_F11
    Script s;
    s.tap(KEY_1), s.tap(87), s.tap(KEY_2), s.enter();
    CHECK(run(s, st)[0].code == std::string("1\x1D") + "2");
  }
  CHECK_FALSE(parse_gs("ctrl+x"));
  CHECK(parse_gs("ctrl+key:27")->ctrl);
}

TEST_CASE("terminators: Enter, keypad Enter, Tab, and the other key is not part of the code") {
  Script s;
  s.tap(KEY_1), s.tap(KEY_TAB_), s.tap(KEY_2), s.tap(KEY_KPENTER_);
  auto out = run(s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "12");  // Tab types nothing when Enter terminates

  Script t;
  t.tap(KEY_1), t.tap(KEY_ENTER_), t.tap(KEY_2), t.tap(KEY_TAB_), t.tap(KEY_3), t.tap(KEY_TAB_);
  out = run(t, settings("us", Terminator::tab));
  REQUIRE(out.size() == 2);
  CHECK(out[0].code == "12");
  CHECK(out[1].code == "3");
}

TEST_CASE("several codes, empty codes skipped") {
  Script s;
  s.enter();
  s.tap(KEY_1), s.enter(), s.tap(KEY_2), s.enter();
  const auto out = run(s);
  REQUIRE(out.size() == 2);
  CHECK(out[1].code == "2");
}

TEST_CASE("the inter-key timeout ends a code from a scanner without terminator") {
  WedgeDecoder d(settings("us", Terminator::none));
  const clock_type::time_point t0{};
  Script s;
  s.tap(KEY_1), s.tap(KEY_2);
  CHECK(run(d, s, t0).empty());
  REQUIRE(d.deadline());
  CHECK(*d.deadline() == t0 + 100ms);
  std::vector<Decoded> out;
  d.idle(t0 + 99ms, out);
  CHECK(out.empty());
  d.idle(t0 + 100ms, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "12");
  CHECK_FALSE(d.deadline());
  // keys closer together than the timeout stay one code
  Script a, b;
  a.tap(KEY_1);
  b.tap(KEY_2);
  out = run(d, a, t0 + 1s);
  out = run(d, b, t0 + 1s + 90ms);
  d.idle(t0 + 1s + 150ms, out);
  CHECK(out.empty());
  d.idle(t0 + 1s + 190ms, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "12");
}

TEST_CASE("autorepeat is ignored") {
  Script s;
  s.key(KEY_1, 1), s.key(KEY_1, 2), s.key(KEY_1, 2), s.key(KEY_1, 0), s.enter();
  CHECK(run(s)[0].code == "1");
}

TEST_CASE("AIM identifier at the start of a code becomes the symbology") {
  Script s;
  s.tap(KEY_RIGHTBRACE_);  // ]
  s.shifted(KEY_C);        // C
  s.tap(KEY_1);            // 1
  s.tap(KEY_0), s.tap(KEY_1), s.enter();
  const auto out = run(s);
  CHECK(out[0].symbology == "]C1");
  CHECK(out[0].code == "01");
}

TEST_CASE("an AIM identifier with no data after it is passed on with its identifier, to be recorded as invalid") {
  Script s;
  s.tap(KEY_RIGHTBRACE_), s.shifted(KEY_C), s.tap(KEY_1), s.enter();  // "]C1" and Enter
  s.tap(KEY_1), s.enter();
  const auto out = run(s);
  REQUIRE(out.size() == 2);
  CHECK(out[0].code.empty());
  CHECK(out[0].symbology == "]C1");
  CHECK(out[0].dropped.empty());
  CHECK(out[1].code == "1");
}

TEST_CASE("SYN_DROPPED loses the code in progress and the modifiers, and says so") {
  Script s;
  s.key(KEY_LEFTSHIFT_, 1), s.tap(KEY_A);
  s.events.push_back({EV_SYN_, SYN_DROPPED_, 0});
  s.events.push_back({EV_KEY_, KEY_B, 1});  // still in the dropped report: skipped
  s.events.push_back({EV_SYN_, SYN_REPORT_, 0});
  s.enter();
  s.tap(KEY_A), s.enter();  // the shift release was lost: the next code must not be upper case
  const auto out = run(s);
  REQUIRE(out.size() == 2);
  CHECK(out[0].dropped.find("SYN_DROPPED") != std::string::npos);
  CHECK(out[1].code == "a");
}

TEST_CASE("a code longer than the limit is dropped once, then the next code is fine") {
  auto st = settings();
  st.max_code = 3;
  Script s;
  for (int i = 0; i < 5; ++i) s.tap(KEY_1);
  s.enter(), s.tap(KEY_2), s.enter();
  const auto out = run(s, st);
  REQUIRE(out.size() == 2);
  CHECK_FALSE(out[0].dropped.empty());
  CHECK(out[1].code == "2");
}

TEST_CASE("a German (QWERTZ) layout: the Y position types z, shifted 7 is a slash") {
  Script s;
  s.tap(KEY_Y), s.tap(KEY_Z), s.shifted(8 /* KEY_7 */), s.shifted(KEY_0), s.enter();
  CHECK(run(s, settings("de"))[0].code == "zy/=");
  CHECK(run(s, settings("us"))[0].code == "yz&)");
  Script at;  // AltGr+Q is @ on a German keyboard
  at.with(KEY_RIGHTALT_, KEY_Q), at.enter();
  CHECK(run(at, settings("de"))[0].code == "@");
}

TEST_CASE("Alt held over thousands of keypad digits types the character of the last three") {
  Script s;
  s.key(KEY_LEFTALT_, 1);
  for (int i = 0; i < 5000; ++i) s.tap(KEY_KP9);
  s.tap(KEY_KP0), s.tap(KEY_KP2), s.tap(KEY_KP9);
  s.key(KEY_LEFTALT_, 0);
  s.tap(KEY_1), s.enter();
  const auto out = run(s);
  REQUIRE(out.size() == 1);
  CHECK(out[0].code == "\x1D" "1");
}

TEST_CASE("keypad digits type digits (NumLock is on for a scanner)") {
  Script s;
  s.tap(KEY_KP0), s.tap(KEY_KP9), s.enter();
  CHECK(run(s)[0].code == "09");
  Script off;  // a scanner that toggles NumLock itself gets what it asks for
  off.tap(KEY_NUMLOCK), off.tap(KEY_KP9), off.tap(KEY_1), off.enter();
  CHECK(run(off)[0].code == "1");
}

TEST_CASE("unknown layouts are refused") { CHECK_FALSE(Keymap::load("xx-no-such")); }

TEST_CASE("the emulator's side: every printable ASCII character has a stroke in us and de") {
  for (const char* layout : {"us", "de(nodeadkeys)"}) {
    const auto k = Keymap::load(layout);
    for (char32_t c = 0x20; c < 0x7F; ++c) {
      INFO(layout << " " << static_cast<char>(c));
      CHECK(k->stroke_for(c));
    }
  }
  CHECK(Keymap::load("de")->stroke_for('@')->altgr);
  CHECK(Keymap::load("de")->stroke_for('z')->code == KEY_Y);
}

TEST_CASE("events from bytes: 24-byte and 16-byte records, split anywhere across reads") {
  Script s;
  s.shifted(KEY_A), s.tap(KEY_1), s.with(KEY_LEFTCTRL_, KEY_RIGHTBRACE_), s.tap(KEY_2), s.enter();
  for (std::size_t size : {16u, 24u}) {
    const std::string bytes = bytes_of(s.events, size);
    for (std::size_t chunk : {1u, 7u, 16u, 23u, 24u, 100u}) {
      INFO("size " << size << " chunk " << chunk);
      EventReader reader(size);
      std::vector<InputEvent> events;
      for (std::size_t pos = 0; pos < bytes.size(); pos += chunk)
        reader.feed(std::string_view(bytes).substr(pos, chunk), events);
      REQUIRE(events.size() == s.events.size());
      WedgeDecoder d(settings());
      std::vector<Decoded> out;
      for (const auto& e : events) d.feed(e, {}, out);
      REQUIRE(out.size() == 1);
      CHECK(out[0].code == std::string("A1\x1D") + "2");
    }
  }
}
