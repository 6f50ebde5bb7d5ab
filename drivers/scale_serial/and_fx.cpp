// A&D balances (FX/EK/EJ/GX) and AD-43xx indicators. A 17-byte line: header(2) "," data(9: sign, zero-padded
// digits, point) unit(3) CR LF, e.g. "ST,+00123.45  g". Header ST = stable weight, US = unstable, QT = stable count
// (not a mass), OL = out of range ("OL,+999999.9  g"). Comparator models add a result ("ST,OK,+0001.234 kg"),
// indicators a second header GS/NT/TR ("ST,NT,+0012.34kg", the unit then glued to the number).
// Errors come as "EC,Exx"; with the ACK setting on, a command is acknowledged with an ACK byte (06h).
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {

std::string error_text(std::string_view code) {
  // A&D error codes (FX-i/GX manuals): what the scale says went wrong with the last command.
  struct Entry {
    std::string_view code, text;
  };
  static constexpr Entry table[] = {
      {"E00", "communication error"}, {"E01", "undefined command"},       {"E02", "not ready"},
      {"E03", "timeout"},             {"E04", "excess characters"},       {"E06", "format error"},
      {"E07", "parameter setting error"}, {"E11", "stability error: weight not stable"},
      {"E17", "out of range"},        {"E20", "internal mass error"},     {"E21", "calibration weight too light"},
  };
  std::string norm(code);  // "E1" and "E01" are the same code
  if (norm.size() == 2 && norm[0] == 'E') norm.insert(1, "0");
  for (const auto& e : table)
    if (e.code == norm) return std::string(e.text) + " (EC," + std::string(code) + ")";
  return "error (EC," + std::string(code) + ")";
}

bool letters2(std::string_view s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

}  // namespace

ScaleFrame parse_and(std::string_view line) {
  // An ACK byte answers a command; it may be alone on a line or glued to the front of the next frame.
  bool acked = false;
  while (!line.empty() && line.front() == '\x06') line.remove_prefix(1), acked = true;
  if (trim(line).empty()) return acked ? kind_frame(FrameKind::info, "", "ACK") : garbage_frame("empty line");
  if (!printable_line(line)) return garbage_frame("noise");
  line = trim(line);

  if (line.substr(0, 3) == "EC,") return kind_frame(FrameKind::error, "", error_text(trim(line.substr(3))));

  if (line.size() < 4 || line[2] != ',') return garbage_frame("not an A&D frame (no header)");
  const std::string_view header = line.substr(0, 2);
  std::string_view rest = line.substr(3);
  // An optional second header: GS/NT/TR (indicators) or OK/HI/LO/NG (comparator result).
  if (rest.size() >= 3 && letters2(rest.substr(0, 2)) && rest[2] == ',') rest.remove_prefix(3);

  // Data: sign, digits and point; the unit is what follows (blank-padded to 3, or glued on: "+0012.34kg").
  std::size_t end = 0;
  while (end < rest.size() && (rest[end] == '+' || rest[end] == '-' || rest[end] == ' ' || rest[end] == '.' ||
                               (rest[end] >= '0' && rest[end] <= '9')))
    ++end;
  const std::string_view data = rest.substr(0, end);
  const std::string_view unit = trim(rest.substr(end));

  if (header == "OL") {
    // Out of range: the sign tells over from under ("OL,+999999.9  g" / "OL,-999999.9  g"); some models put an E in
    // the data, so the number itself does not matter.
    const bool under = !trim(rest).empty() && trim(rest).front() == '-';
    return fault_frame(under ? "underload" : "overload");
  }
  if (header != "ST" && header != "US" && header != "QT") return garbage_frame("unknown A&D header");
  const auto n = parse_number(data);
  if (!n) return garbage_frame("A&D frame without a number");
  for (char c : unit)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%')) return garbage_frame("A&D frame with a bad unit");
  if (header == "QT" || lower(unit) == "pc" || lower(unit) == "pcs")
    return garbage_frame("A&D count (QT), not a mass");
  return weight_frame(*n, unit, header == "ST");
}

}  // namespace tally::scale_serial
