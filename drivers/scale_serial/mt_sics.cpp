// Mettler Toledo MT-SICS (Standard Interface Command Set): ASCII, one space between words, CR LF after every line.
// A reply starts with the command it answers and a status letter: "S S     100.00 g" (stable weight), "S D" dynamic,
// "S I" busy, "S +" / "S -" overload / underload, "T S <tare> g", "Z A", "ES"/"ET"/"EL" for any command.
// The weight looks right-aligned in 10 characters (unsure), so we split on blanks instead of counting columns, and
// accept "A" where others see "S" (sources disagree).
#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {

// Why a command was not executed, from its status letter (MT-SICS reference: I = not executable now, e.g. another
// command is running or no stable weight in time; + / - = the upper / lower limit of the range exceeded).
std::string command_status(std::string_view id, std::string_view status) {
  const std::string code = " (" + std::string(id) + " " + std::string(status) + ")";
  if (status == "I") return "busy or no stable weight in time" + code;
  if (status == "+") return "overload" + code;
  if (status == "-") return "underload" + code;
  if (status == "L") return "logical error: not possible now" + code;
  return "status " + std::string(status) + code;
}

// "<w> <unit>" after the status: the sign may stand alone ("- 12.5 g" on some models).
std::optional<std::pair<Number, std::string_view>> weight_and_unit(const std::vector<std::string_view>& t,
                                                                   std::size_t from) {
  if (from < t.size() && (t[from] == "-" || t[from] == "+") && from + 1 < t.size()) {
    const auto n = parse_number(std::string(t[from]) + std::string(t[from + 1]));
    if (!n) return std::nullopt;
    return std::pair{*n, from + 2 < t.size() ? t[from + 2] : std::string_view{}};
  }
  if (from >= t.size()) return std::nullopt;
  const auto n = parse_number(t[from]);
  if (!n) return std::nullopt;
  return std::pair{*n, from + 1 < t.size() ? t[from + 1] : std::string_view{}};
}

}  // namespace

ScaleFrame parse_mt_sics(std::string_view line) {
  if (!printable_line(line)) return garbage_frame("noise");
  const auto t = split_blanks(line);
  if (t.empty()) return garbage_frame("empty line");
  const std::string_view id = t[0];

  if (t.size() == 1) {
    if (id == "ES") return kind_frame(FrameKind::error, "", "syntax error (ES)");
    if (id == "ET") return kind_frame(FrameKind::error, "", "transmission error (ET)");
    if (id == "EL") return kind_frame(FrameKind::error, "", "logical error (EL)");
    return garbage_frame("not an MT-SICS reply");
  }
  const std::string_view status = t[1];

  if (id == "S") {  // S, SI and SIR all answer with "S"
    if (status == "S" || status == "A" || status == "D") {
      const auto w = weight_and_unit(t, 2);
      if (!w) return garbage_frame("MT-SICS weight reply without a number");
      return weight_frame(w->first, w->second, status != "D");
    }
    if (status == "I") return kind_frame(FrameKind::busy, "S", command_status(id, status));
    if (status == "+" && t.size() == 2) return fault_frame("overload");
    if (status == "-" && t.size() == 2) return fault_frame("underload");
    return garbage_frame("unknown MT-SICS weight status");
  }
  if (id == "T") {
    if (status == "S" || status == "A") {
      ScaleFrame f = kind_frame(FrameKind::ack, "T");
      if (const auto w = weight_and_unit(t, 2)) {
        f.value = w->first.value;
        f.decimals = w->first.decimals;
        f.unit = lower(w->second);
      }
      return f;
    }
    if (t.size() == 2) return kind_frame(FrameKind::refused, "T", command_status(id, status));
  }
  if (id == "Z") {
    if (status == "A" || status == "S") return kind_frame(FrameKind::ack, "Z");
    if (t.size() == 2) return kind_frame(FrameKind::refused, "Z", command_status(id, status));
  }
  if (id == "ZI") {  // zero immediately: "ZI D" (done while dynamic) or "ZI S"
    if (status == "D" || status == "S" || status == "A") return kind_frame(FrameKind::ack, "Z");
    if (t.size() == 2) return kind_frame(FrameKind::refused, "Z", command_status(id, status));
  }
  // Identification and other informative replies: `I4 A "B021002593"` (the answer to "@" reset), "TA A 0.00 g".
  if ((id.size() >= 2 && id[0] == 'I' && id[1] >= '0' && id[1] <= '9') || id == "TA" || id == "@")
    return kind_frame(FrameKind::info, std::string(id));
  return garbage_frame("unknown MT-SICS reply");
}

}  // namespace tally::scale_serial
