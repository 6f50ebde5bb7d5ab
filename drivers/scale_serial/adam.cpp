// Adam Equipment (Highland, CPWplus, CBC, MDW and similar). The plain format: "       123.45 g " + CR LF, the weight
// right-justified with its sign (blank or "-"), then a 3-character unit field; a 2- or 3-letter unit touches the
// number ("      0.12345lb ", "       123.45dwt"; Highland manual, "Format 2"). It has no stability mark, so
// "stable" is false (PRODUCT: true only when the scale says so) unless the line carries a header that says so:
// "ST,GS      123.45 g " / "US,NT-     123.45 g " (Highland continuous output). Model-specific prefixes name the
// value: "GS", "NT", "GROSS", "NET" (Highland Format 1), "Gross Wt", "Net Wt.", "Wt." (CBC); lines that are not the
// load are recognised and not published: "Total", "No.", "Unit Wt.", "PCS", "Date", "Time". Overload: the MDW's
// "^^^^^^^^^kg" (over), "_________kg" (under), "---------kg" (zero-point error); "OL"/"UL"/"-OL-"/"Over"/"Err <n>"
// in place of the number are accepted too (unsure in the manuals). Every form is in corpus/adam.tsv with its source.
#include <array>

#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {

// Words in front of the weight that name it; longest first so "Gross Wt" is not read as "Gross".
// "G/W" / "N/W" label the gross / net reply of a CPWplus to G / N (a CPWplus driver for Odoo, quoting the manual).
constexpr std::array<std::string_view, 10> kWeightPrefixes{"Gross Wt.", "Gross Wt", "Net Wt.", "Net Wt", "GROSS", "NET",
                                                           "Wt.",       "G/W",      "N/W",     "GS"};
// Lines whose value is not the load on the pan (an accumulated total, a count, the piece weight, a date).
constexpr std::array<std::string_view, 6> kOtherLines{"Total", "No.", "Unit Wt", "PCS", "Date", "Time"};

bool all_of(std::string_view s, char c) { return !s.empty() && s.find_first_not_of(c) == std::string_view::npos; }

}  // namespace

ScaleFrame parse_adam(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  std::string_view text = trim(line);
  if (text.empty()) return garbage_frame("empty line");

  std::optional<bool> flagged;  // "ST," / "US," header, then "GS" / "NT" with or without a comma
  if (text.size() > 3 && text[2] == ',' && (text.substr(0, 2) == "ST" || text.substr(0, 2) == "US")) {
    flagged = text.substr(0, 2) == "ST";
    text.remove_prefix(3);
    if (text.substr(0, 2) == "GS" || text.substr(0, 2) == "NT") text.remove_prefix(text.size() > 2 && text[2] == ',' ? 3 : 2);
  } else {
    for (auto other : kOtherLines)
      if (starts_with_word(text, other)) return kind_frame(FrameKind::info, std::string(other), "not the load");
    bool named = false;
    for (auto prefix : kWeightPrefixes)
      if (!named && starts_with_word(text, prefix)) text.remove_prefix(prefix.size()), named = true;
    if (!named && text.substr(0, 2) == "NT") text.remove_prefix(2);
  }
  text = trim(text);

  // The MDW fills the weight field with one character when it has no value.
  const std::size_t field = text.find_first_not_of(text.empty() ? ' ' : text.front());
  const std::string_view filled = text.substr(0, field == std::string_view::npos ? text.size() : field);
  if (filled.size() >= 5) {
    if (all_of(filled, '^')) return fault_frame("overload");
    if (all_of(filled, '_')) return fault_frame("underload");
    if (all_of(filled, '-')) return fault_frame("error: zero point");
  }

  // A comma between number and unit on the flagged formats ("   123.45,g").
  std::string joined(text);
  for (char& c : joined)
    if (c == ',') c = ' ';
  auto t = split_blanks(joined);
  if (t.empty()) return garbage_frame("empty line");
  if (auto fault = fault_word(t)) return *fault;

  // A lone sign before the number ("- 123.45 g", "+ 2.00 kg"), then the number with its unit after blanks or glued.
  std::string_view rest = joined;
  rest = trim(rest);
  std::string unsigned_text;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    unsigned_text = std::string(1, rest.front()) + std::string(trim(rest.substr(1)));
    rest = unsigned_text;
  }
  const auto nu = number_then_unit(rest);
  if (!nu) return garbage_frame("Adam line without a number");
  if (nu->unit.empty()) return garbage_frame("Adam line without a unit");
  if (nu->unit.find(' ') != std::string_view::npos) return garbage_frame("Adam line with extra fields");
  if (nu->unit.find_first_of("0123456789") != std::string_view::npos) return garbage_frame("Adam line with a bad number");
  return weight_frame(nu->number, nu->unit, flagged.value_or(false));
}

}  // namespace tally::scale_serial
