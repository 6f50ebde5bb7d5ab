// Adam Equipment (Highland and similar): 16 characters, "      123.45 g " + CR LF: the weight right-justified with
// its sign (blank or "-"), a space, a 3-character unit. The plain format has no stability mark, so "stable" is false
// (PRODUCT: true only when the scale says so) unless the line carries an A&D-style header as some Adam indicators
// print ("ST,GS,   123.45 g", "US,GS,..."). Overload is not in our sources (unsure): "OL"/"UL"/"-OL-"/"Over"
// in place of the number are read as overload/underload, "Err <n>" as a scale error.
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

ScaleFrame parse_adam(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  std::string_view text = trim(line);
  if (text.empty()) return garbage_frame("empty line");

  std::optional<bool> flagged;  // "ST," / "US," header, then maybe "GS," / "NT,"
  if (text.size() > 3 && text[2] == ',' && (text.substr(0, 2) == "ST" || text.substr(0, 2) == "US")) {
    flagged = text.substr(0, 2) == "ST";
    text.remove_prefix(3);
    if (text.size() > 3 && text[2] == ',') text.remove_prefix(3);
    text = trim(text);
  }
  // A comma between number and unit on the flagged formats ("   123.45,g").
  std::string joined(text);
  for (char& c : joined)
    if (c == ',') c = ' ';
  auto t = split_blanks(joined);
  if (t.empty()) return garbage_frame("empty line");

  if (auto fault = fault_word(t)) return *fault;

  std::size_t next = 0;
  const auto n = leading_number(t, next);
  if (!n) return garbage_frame("Adam line without a number");
  if (next >= t.size()) return garbage_frame("Adam line without a unit");
  const std::string_view unit = t[next++];
  if (next < t.size()) return garbage_frame("Adam line with extra fields");
  return weight_frame(*n, unit, flagged.value_or(false));
}

}  // namespace tally::scale_serial
