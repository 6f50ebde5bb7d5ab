// A keyboard-wedge scanner's evdev node, or a FIFO of input_event records written by anyone: arbitrary bytes read
// as input_event structs (24-byte and 16-byte layouts, split at arbitrary read boundaries) and decoded into codes,
// in the layouts and settings the driver's own tests use (drivers/scanner_evdev/test_wedge_decoder.cpp).
// The first three bytes choose the settings:
//   byte 0: bit 0 the record size (24 / 16), bits 1-2 the layout (us, de, fr, gb), bits 3-4 the terminator (enter,
//           tab, none), bits 5-6 the GS form (ctrl+], f12, alt+029, key:88), bit 7 max_code (4,096 / 16)
//   byte 1: the read size (1..256 bytes)
//   byte 2: milliseconds between events (0..255), so that the inter-key timeout (100 ms) ends codes too
// Seed corpus (tests/fuzz/corpus/fuzz_wedge_decoder/): the event sequences of test_wedge_decoder.cpp and of the
// emulator (tools/emulators, `tally-emu scanner`), as bytes.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "scanner_evdev/wedge_decoder.hpp"

using namespace tally::scanner_evdev;

namespace {

std::shared_ptr<const Keymap> layout(int i) {
  static const std::shared_ptr<const Keymap> maps[4] = {Keymap::load("us"), Keymap::load("de"), Keymap::load("fr"),
                                                        Keymap::load("gb")};
  if (!maps[i]) __builtin_trap();  // xkb-data missing: the fuzzer would test nothing
  return maps[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  DecoderSettings s;
  s.keymap = layout((flags >> 1) & 3);
  const Terminator terminators[] = {Terminator::enter, Terminator::tab, Terminator::none, Terminator::enter};
  s.terminator = terminators[(flags >> 3) & 3];
  const char* gs_forms[] = {"ctrl+]", "f12", "alt+029", "key:88"};
  s.gs = *parse_gs(gs_forms[(flags >> 5) & 3]);
  if (flags & 0x80) s.max_code = 16;
  const std::size_t record = (flags & 1) ? 16 : 24;
  const std::size_t chunk = 1 + data[1];
  const auto step = std::chrono::milliseconds(data[2]);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 3, size - 3);

  EventReader reader(record);
  WedgeDecoder decoder(s);
  WedgeDecoder::clock::time_point now{};
  std::vector<InputEvent> events;
  std::vector<Decoded> out;
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    events.clear();
    reader.feed(bytes.substr(at, chunk), events);
    for (const auto& e : events) {
      now += step;
      decoder.idle(now, out);  // as the driver does when its deadline passed before the next read
      decoder.feed(e, now, out);
    }
  }
  now += std::chrono::seconds(1);
  decoder.idle(now, out);
  if (decoder.deadline()) __builtin_trap();  // after the timeout nothing is pending
  for (const auto& d : out) {
    // A code (or an identifier alone, recorded as invalid by the station), or a reason it was thrown away.
    if ((d.code.empty() && d.symbology.empty()) == d.dropped.empty()) __builtin_trap();
    if (d.code.size() + d.symbology.size() > s.max_code) __builtin_trap();
  }
  return 0;
}
