// Sartorius SBI. 16 characters: sign (+, - or space), space, 8 characters of weight (leading zeros as spaces,
// digits or letters), space, 3-character unit, CR LF: "+   1255.7 g  " (Signum 1-2-3 manual, "Data Output Format").
// Unstable readings carry NO unit, so "stable" is "a unit is there" (the driver supplies the unit last seen).
// Special codes in the weight field: "H" overload, "HH" overload in checkweighing, "L" underload, "LL" underweight in
// checkweighing, "C" adjustment running; errors "   Err  54    " / "   Err 101    ".
// With the 22-character format a 6-character ID code comes first ("N     +   1255.7 g  "), and special codes and
// errors become status lines: "Stat     High       ", "Stat     Low        ", "Stat     ERR 101    ",
// "Stat     APP.ERR    ", "Stat     DIS.ERR    ", "Stat     PRT.ERR    ", "Stat        AB      " (Entris II,
// Master series, BP, MC manuals), "Stat       OFF" (display off, numat/sartorius). Overload/underload/errors are
// faults; only weight ID codes (N net, G/G# gross) are weights: T (tare), Qnt (count) and GMP/identification lines
// ("Ser.no.    12345678", "Type           SIWR") are not. Non-verified digits may be bracketed: "123.5[6]".
// Other forms real balances send (sartoriuslib's parser tests, from an MSE and other models; sartoriusb's tests from a
// Quintix; the ME215S manual's layout, where position 2 is "space or weight value digit"): the special codes alone
// on a short line ("H", "L"), "Stat" with a single blank ("Stat High", "Stat ERR 101", "Stat PRT. ERR"), error
// text with a blank inside ("APP. ERR"), a bare "ERR" refusing the last command, "?" in front of the sign for a
// value that is not stable ("?+     1.0 g"), and the sign glued to the digits ("+123.45678 mg  ").
// Every form is in corpus/sartorius.tsv with its source.
#include <array>

#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {

bool letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// The ID codes in front of a weight in the 22-character format that mean "the load": net and gross.
constexpr std::array<std::string_view, 5> kWeightIds{"N", "G", "G#", "NET", "GROSS"};

// Status words compared without blanks and case: "APP. ERR" is "APP.ERR", "Cal. Ext." is "Cal.Ext.".
std::string squeeze(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\t') out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return out;
}

// "Stat" lines and the special codes of the 16-character format: a fault, or "no value now" (blank, adjusting).
// `status_line`: the text followed "Stat", where anything unknown is a status the scale reports instead of a weight.
std::optional<ScaleFrame> special(std::string_view body, bool status_line) {
  body = trim(body);
  const std::string word = squeeze(body);
  if (word == "h" || word == "hh" || word == "high") return fault_frame("overload");
  if (word == "l" || word == "ll" || word == "low") return fault_frame("underload");
  // "ERR" alone: the balance refused the last command (sartoriuslib: a refusal line), not a display error.
  if (word == "err") return kind_frame(FrameKind::error, "", "command refused (ERR)");
  if (word.rfind("err", 0) == 0) {  // "Err 54", "Err 101", "ERR 101", "Error 123"
    std::string_view code = trim(body.substr(3));
    if (starts_with_word(code, "or")) code = trim(code.substr(2));
    return fault_frame("error " + std::string(code.empty() ? body : code));
  }
  if (word.size() > 3 && word.compare(word.size() - 4, 4, ".err") == 0)  // APP.ERR, DIS.ERR, PRT.ERR
    return fault_frame("error " + std::string(body));
  // Blank, "C" (adjusting), "Cal.Ext." / "Cal.Int." (a calibration running), dashes: no value now.
  if (word.empty() || word == "c" || word.rfind("cal.", 0) == 0 || word.find_first_not_of('-') == std::string::npos)
    return kind_frame(FrameKind::busy, "", "no value now");
  if (status_line) return fault_frame("error " + std::string(body));  // OFF, status codes A B
  return std::nullopt;
}

// The 16-character part: sign column, a blank, the weight, the unit.
ScaleFrame weight_part(std::string_view frame) {
  // "?" in front of the sign: the value is not stable, whether or not a unit follows (sartoriuslib test_parser.py).
  const bool unstable_mark = !frame.empty() && frame.front() == '?';
  if (unstable_mark) frame.remove_prefix(1);
  const std::string_view text = trim(frame);
  if (text.empty()) return kind_frame(FrameKind::busy, "", "blank display");
  std::string_view body = text;
  if (body.front() == '+' || body.front() == '-') body = trim(body.substr(1));
  if (auto s = special(body, false)) return *s;

  // The sign column, then a blank or the first digit (ME215S: "position 2: space or weight value digit"): what is
  // not laid out so (a serial number, a model name, a date) is not a weight, however numeric it looks.
  const bool digit2 = frame.size() > 1 && ((frame[1] >= '0' && frame[1] <= '9') || frame[1] == '.');
  if (frame.size() < 10 || (frame[0] != '+' && frame[0] != '-' && frame[0] != ' ') || (frame[1] != ' ' && !digit2))
    return garbage_frame("not an SBI weight line");
  std::string number;  // non-verified digits in brackets: "123.5[6]" is 123.56
  std::size_t end = 0;
  for (; end < text.size() && !letter(text[end]) && text[end] != '%' && text[end] != '/'; ++end)
    if (text[end] != '[' && text[end] != ']') number.push_back(text[end]);
  const auto n = parse_number(number);
  if (!n) return garbage_frame("Sartorius line without a number");
  const std::string_view unit = trim(text.substr(end));
  if (unit.find(' ') != std::string_view::npos) return garbage_frame("Sartorius line with two units");
  return weight_frame(*n, unit, !unit.empty() && !unstable_mark);
}

}  // namespace

ScaleFrame parse_sartorius(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  // A blank display is printed as a full line of spaces (special code); a shorter blank line is nothing.
  if (trim(line).empty()) return line.size() >= 14 ? kind_frame(FrameKind::busy, "", "blank display") : garbage_frame("empty line");
  if (!letter(line[0])) return weight_part(line);

  // A letter first: a status line, a special code alone on the line ("H", "LL", "ERR", "APP. ERR", as some balances
  // send it without the padding), the 22-character format's ID code, or a line that is no weight at all.
  if (lower(split_blanks(line)[0]) == "stat") {
    if (auto s = special(line.substr(line.find_first_of("tT", 2) + 1), true)) return *s;
  }
  if (auto s = special(line, false)) return *s;
  const std::string_view id = trim(line.substr(0, std::min<std::size_t>(6, line.size())));
  // A weight ID code: the 16-character frame follows (trailing blanks may have been lost on the way: not required).
  for (auto w : kWeightIds)
    if (w == id && line.size() >= 16) return weight_part(line.substr(6));
  return kind_frame(FrameKind::info, std::string(id), "text line or an ID code of no weight (tare, count, identification)");
}

}  // namespace tally::scale_serial
