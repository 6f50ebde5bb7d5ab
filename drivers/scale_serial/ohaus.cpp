// Ohaus (Navigator, Scout, Explorer, Adventurer, Ranger, Defender, CW-11; the format varies by model): the weight
// right-justified, a space, the unit, the stability character ("?" when unstable, blank when stable), then a legend:
// "       12.73 g    ?" (Ohaus RS232 Interface manual), "-    12.5 kg   ?NET" (Defender 3000: polarity, weight,
// 5-character unit, stability, 3-character legend G/NET/T: the "?" sits right against the legend),
// "    12.34 kg ?N" (CW-11: 1-character legend). Column positions differ between models, so the line is split on
// blanks and the stability character found wherever it is. Legends that say the line is not the load on the pan:
// "T" (tare), "TOTAL" (Scout Pro accumulation); the Ranger's print-key block ("SCALE: 1", then "G ...", "T ...",
// "N ..." lines) publishes only its net line. "ES" answers an invalid command, "OK!" acknowledges one (Adventurer).
// Overload is not in our sources (unsure): "OL"/"UL" (and "-OL-", "Over", "Under") in place of the number are read
// as overload/underload, "Err <n>" as a scale error. Every form is in corpus/ohaus.tsv with its source.
#include <cmath>
#include <string>

#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {
bool is_legend_not_load(std::string_view word) { return word == "T" || word == "TOTAL" || word == "TARE"; }
}  // namespace

ScaleFrame parse_ohaus(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  auto t = split_blanks(line);
  if (t.empty()) return garbage_frame("empty line");
  if (t.size() == 1 && t[0] == "ES") return kind_frame(FrameKind::error, "", "invalid command (ES)");
  if (t.size() == 1 && t[0] == "OK!") return kind_frame(FrameKind::info, "", "OK!");
  if (t[0] == "SCALE:") return kind_frame(FrameKind::info, "", "print header");

  // Ranger print-key block: "G ..." gross, "T ..." tare, "N ..." net: the net line is the weight on display.
  if (t.size() >= 3 && (t[0] == "G" || t[0] == "T")) return kind_frame(FrameKind::info, std::string(t[0]), "print block");
  if (t.size() >= 3 && t[0] == "N") t.erase(t.begin());

  if (auto fault = fault_word(t)) return *fault;

  std::size_t next = 0;
  const auto n = leading_number(t, next);  // "-   12.73 g": a lone sign before the number
  if (!n) return garbage_frame("Ohaus line without a number");
  if (next >= t.size()) return garbage_frame("Ohaus line without a unit");
  std::string_view unit = t[next++];
  Number value = *n;
  // Pounds and ounces: "  3 lb:5.6 oz  ?G" (Ranger 3000 / Valor 7000): the reading in ounces.
  if (unit.substr(0, 3) == "lb:" && next < t.size() && (t[next] == "oz" || t[next].substr(0, 3) == "oz?")) {
    const auto lo = pounds_ounces(std::to_string(static_cast<long long>(std::fabs(n->value))), unit.substr(3),
                                  n->value < 0 || t[0] == "-");
    if (!lo || n->decimals != 0) return garbage_frame("Ohaus lb:oz line without a number");
    value = *lo;
    unit = t[next++];
  }
  bool stable = true;
  if (unit.size() > 1 && unit.back() == '?') unit.remove_suffix(1), stable = false;  // "g?" on narrow formats
  if (unit == "?") return garbage_frame("Ohaus line without a unit");
  for (; next < t.size(); ++next) {
    std::string_view word = t[next];
    // The stability mark, alone or against the legend ("?NET", "?N", "?G").
    if (!word.empty() && word.front() == '?') word.remove_prefix(1), stable = false;
    if (is_legend_not_load(word)) return kind_frame(FrameKind::info, std::string(word), "not the load on the pan");
    // Anything else is the weighing mode (NET, N, G, B/G, WET WT) or the time of an interval print.
  }
  return weight_frame(value, unit, stable);
}

}  // namespace tally::scale_serial
