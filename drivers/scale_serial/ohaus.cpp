// Ohaus (Navigator, Scout, Ranger; the format varies by model): the weight right-justified in a field of about 10
// characters, a space, the unit, then "?" when unstable (blank when stable) and optionally "NET" / "N" / "G":
// "      12.73 g    ?", "       0.00 g". Column positions differ between models, so the line is split on blanks.
// An invalid command is answered "ES". Overload is not in our sources (unsure): "OL"/"UL" (and "-OL-", "Over",
// "Under") in place of the number are read as overload/underload, "Err <n>" as a scale error.
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

ScaleFrame parse_ohaus(std::string_view line) {
  if (!printable(line)) return garbage_frame("noise");
  auto t = split_blanks(line);
  if (t.empty()) return garbage_frame("empty line");
  if (t.size() == 1 && t[0] == "ES") return kind_frame(FrameKind::error, "", "invalid command (ES)");

  const std::string first = lower(t[0]);
  if (first == "ol" || first == "-ol-" || first == "over" || first == "overload") return fault_frame("overload");
  if (first == "ul" || first == "-ul-" || first == "under" || first == "underload") return fault_frame("underload");
  if (first == "err" || first == "error") return fault_frame("error " + (t.size() > 1 ? std::string(t[1]) : ""));

  // A lone sign before the number ("-   12.73 g").
  std::string number(t[0]);
  std::size_t next = 1;
  if ((number == "-" || number == "+") && t.size() > 1) number += std::string(t[next++]);
  const auto n = parse_number(number);
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
