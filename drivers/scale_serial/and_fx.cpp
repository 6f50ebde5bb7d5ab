// A&D balances (FX-i/GX-A/GF-A/EK-i/EJ/EK-L) and AD-43xx indicators. A 17-byte line: header(2) "," data(9: sign,
// zero-padded digits, point) unit(3) CR LF, e.g. "ST,+00123.45  g" (EK-L/EJ manuals, "Data format"). Header ST =
// stable weight (and %), US = unstable, QT = stable count, OL = out of range: "OL,+999999.9  g" over,
// "OL,-99999999 PC" under. Units (EJ manual): g kg PC % oz lb ozt ct mom dwt GN N(ewton) tl(tael) t(tola) DS(density);
// the ones that are not a mass come back with their unit and the driver counts them as "not converted".
// Comparator models add a result ("ST,OK,+0001.234 kg"), indicators a second header GS/NT ("ST,NT,+0012.34kg", the
// unit glued on); TR is the tare, not the load. Some firmware pads the data wider ("ST,+0004775.7   g", a GX-10202M
// capture). The CSV format puts a comma before the unit. WT is read as a stable weight, PT (the preset tare) as no
// weight, as other implementations do. HC-i counting scales' general format adds "UL,-99999     kg" (underload)
// and a "TR," tare line. Errors come as "EC,Exx"; with the ACK setting on, a command is acknowledged
// with an ACK byte (06h). Every form is in corpus/and.tsv with its source.
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
  std::string_view second;
  if (rest.size() >= 3 && letters2(rest.substr(0, 2)) && rest[2] == ',') second = rest.substr(0, 2), rest.remove_prefix(3);

  if (header == "UL") return fault_frame("underload");  // "UL,-99999     kg" (HC-i general format)
  if (header == "OL") {
    // Out of range: the sign tells over from under ("OL,+999999.9  g" / "OL,-99999999 PC"); some models send only
    // the sign and blanks, so the number itself does not matter.
    const bool under = !trim(rest).empty() && trim(rest).front() == '-';
    return fault_frame(under ? "underload" : "overload");
  }
  if (header == "PT" || header == "TR" || second == "TR") return kind_frame(FrameKind::info, std::string(header), "tare value");
  if (header != "ST" && header != "US" && header != "QT" && header != "WT") return garbage_frame("unknown A&D header");

  // Data: sign, digits and point; the unit is what follows (blank-padded to 3, glued on, or after a CSV comma).
  std::size_t end = 0;
  while (end < rest.size() && (rest[end] == '+' || rest[end] == '-' || rest[end] == ' ' || rest[end] == '.' ||
                               (rest[end] >= '0' && rest[end] <= '9')))
    ++end;
  const auto n = parse_number(rest.substr(0, end));
  if (!n) return garbage_frame("A&D frame without a number");
  std::string_view unit = trim(rest.substr(end));
  if (!unit.empty() && unit.front() == ',') unit = trim(unit.substr(1));  // CSV format
  if (unit.empty()) return garbage_frame("A&D frame without a unit");
  for (char c : unit)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%')) return garbage_frame("A&D frame with a bad unit");
  ScaleFrame f = weight_frame(*n, unit, header == "ST" || header == "QT" || header == "WT");
  if (f.unit == "t") f.unit = "tola";  // A&D's "t" is the tola (EJ/EK-i unit list), not the tonne
  if (f.unit == "pc") f.unit = "pcs";
  return f;
}

}  // namespace tally::scale_serial
