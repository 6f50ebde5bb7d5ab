// Ohaus (Navigator, Scout, Ranger; the format varies by model): the weight right-justified in a field of about 10
// characters, a space, the unit, then "?" when unstable (blank when stable) and optionally "NET" / "N" / "G":
// "      12.73 g    ?", "       0.00 g". Column positions differ between models, so the line is split on blanks.
// An invalid command is answered "ES". Overload is not in our sources (unsure): "OL"/"UL" (and "-OL-", "Over",
// "Under") in place of the number are read as overload/underload, "Err <n>" as a scale error.
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

ScaleFrame parse_ohaus(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  auto t = split_blanks(line);
  if (t.empty()) return garbage_frame("empty line");
  if (t.size() == 1 && t[0] == "ES") return kind_frame(FrameKind::error, "", "invalid command (ES)");

  if (auto fault = fault_word(t)) return *fault;

  std::size_t next = 0;
  const auto n = leading_number(t, next);  // "-   12.73 g": a lone sign before the number
  if (!n) return garbage_frame("Ohaus line without a number");
  if (next >= t.size()) return garbage_frame("Ohaus line without a unit");
  std::string_view unit = t[next++];
  bool stable = true;
  if (unit.size() > 1 && unit.back() == '?') unit.remove_suffix(1), stable = false;  // "g?" on narrow formats
  if (unit == "?") return garbage_frame("Ohaus line without a unit");
  for (; next < t.size(); ++next) {
    if (t[next] == "?") stable = false;  // the stability mark; anything else (NET, G, N, T) is the weighing mode
  }
  return weight_frame(*n, unit, stable);
}

}  // namespace tally::scale_serial
