// Sartorius SBI: a 16-character line: sign (+, - or space), space, 8 characters of weight (leading zeros shown as
// spaces), space, 3-character unit, CR LF: "+   1255.7 g  ". Unstable readings carry NO unit, so "stable" is "a
// unit is there" (the driver supplies the unit last seen). "H" overload, "L" underload, "Err ###" a scale error.
// With the 22-character format a 6-character identifier comes first ("N     +   1255.7 g  ", "G#    ...").
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {
bool letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
}  // namespace

ScaleFrame parse_sartorius(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  // 22-character format: a 6-character identifier (a letter first) before the 16-character frame.
  if (line.size() >= 20 && letter(line[0])) {
    const std::string id = lower(trim(line.substr(0, 6)));
    if (id.rfind("stat", 0) == 0) return kind_frame(FrameKind::busy, "", "status line");
    line.remove_prefix(6);
  }
  const std::string_view text = trim(line);
  if (text.empty()) return garbage_frame("empty line");

  // The value field without its sign, for the special displays.
  std::string_view body = text;
  if (body.front() == '+' || body.front() == '-') body = trim(body.substr(1));
  if (body == "H" || body == "High" || body == "HIGH") return fault_frame("overload");
  if (body == "L" || body == "Low" || body == "LOW") return fault_frame("underload");
  if (body.rfind("Err", 0) == 0) return fault_frame("error " + std::string(trim(body.substr(3))));
  if (body.find_first_not_of('-') == std::string_view::npos) return kind_frame(FrameKind::busy, "", "dashes");

  // Number, then the unit (absent while unstable).
  std::size_t end = 0;
  while (end < text.size() && !letter(text[end]) && text[end] != '%' && text[end] != '/') ++end;
  const auto n = parse_number(text.substr(0, end));
  if (!n) return garbage_frame("Sartorius line without a number");
  const std::string_view unit = trim(text.substr(end));
  if (unit.find(' ') != std::string_view::npos) return garbage_frame("Sartorius line with two units");
  return weight_frame(*n, unit, !unit.empty());
}

}  // namespace tally::scale_serial
