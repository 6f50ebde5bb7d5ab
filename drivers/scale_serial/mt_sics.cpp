// Mettler Toledo MT-SICS (Standard Interface Command Set): ASCII, one space between words, CR LF after every line.
// A reply starts with the command it answers and a status letter (MT-SICS reference manual 11780711, quoted in the
// AT/AL balances' operating instructions): "S S     100.00 g" stable weight, "S D" dynamic, "S I" not executable
// now (busy, or no stable weight in time), "S +" / "S -" overload / underload, "S L" logical error; "T S <tare> g",
// "Z A"; "ES"/"ET"/"EL" for any command. Other implementations' tests add "S A <w> g" (read as a stable weight),
// "T A"/"TI A"/"ZI A" acknowledgements and replies named after the command ("SI D   -12.345 g"). The weight is
// right-aligned in a 10-character field, so we split on blanks instead of counting columns. Every line is in
// corpus/mt_sics.tsv with its source.
#include <array>

#include "scale_serial/fields.hpp"

namespace tally::scale_serial {

namespace {

// The commands whose reply carries the weight on the pan (S, SI, SIR answer with "S"; some firmware and other
// implementations name the reply after the command, and the SU/SR family answer the same way).
constexpr std::array<std::string_view, 10> kWeightIds{"S", "SI", "SIR", "SU", "SIU", "SIRU", "SNR", "SNRU", "SR", "SRU"};

bool weight_id(std::string_view id) {
  for (auto w : kWeightIds)
    if (w == id) return true;
  return false;
}

// Why a command was not executed, from its status letter (MT-SICS reference: I = not executable now, e.g. another
// command is running or no stable weight in time; L = logical error, e.g. a parameter not allowed; + / - = the upper
// / lower limit of the range exceeded).
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
  std::size_t next = 0;
  const std::vector<std::string_view> rest(t.begin() + static_cast<std::ptrdiff_t>(std::min(from, t.size())), t.end());
  const auto n = leading_number(rest, next);
  if (!n) return std::nullopt;
  return std::pair{*n, next < rest.size() ? rest[next] : std::string_view{}};
}

bool accepted(std::string_view status) { return status == "S" || status == "A" || status == "D"; }
bool refusal(std::string_view status) {
  return status == "I" || status == "L" || status == "+" || status == "-";
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

  if (weight_id(id)) {
    if (status == "S" || status == "A" || status == "D") {
      // Pounds and ounces in one field: "S D 12:07.50 lb:oz" (a BC60 set to US shipping units).
      if (t.size() == 4 && t[3] == "lb:oz") {
        std::string_view v = t[2];
        const bool negative = !v.empty() && v.front() == '-';
        if (negative) v.remove_prefix(1);
        const auto colon = v.find(':');
        const auto n = colon == std::string_view::npos ? std::nullopt
                                                        : pounds_ounces(v.substr(0, colon), v.substr(colon + 1), negative);
        if (!n) return garbage_frame("MT-SICS lb:oz reply without a number");
        return weight_frame(*n, "oz", status != "D");
      }
      const auto w = weight_and_unit(t, 2);
      if (!w) return garbage_frame("MT-SICS weight reply without a number");
      return weight_frame(w->first, w->second, status != "D");
    }
    // "S I" (also with a stale weight after it, as one implementation's comments show): no value now.
    if (status == "I") return kind_frame(FrameKind::busy, "S", command_status(id, status));
    if (status == "+") return fault_frame("overload");
    if (status == "-") return fault_frame("underload");
    if (status == "L") return fault_frame("error: logical error (" + std::string(id) + " L)");
    return garbage_frame("unknown MT-SICS weight status");
  }
  if (id == "T" || id == "TI") {  // tare (TI: immediately)
    if (accepted(status)) {
      ScaleFrame f = kind_frame(FrameKind::ack, "T");
      if (const auto w = weight_and_unit(t, 2)) {
        f.value = w->first.value;
        f.decimals = w->first.decimals;
        f.unit = lower(w->second);
      }
      return f;
    }
    if (refusal(status)) return kind_frame(FrameKind::refused, "T", command_status(id, status));
  }
  if (id == "Z" || id == "ZI") {  // zero ("ZI D": done while dynamic)
    if (accepted(status)) return kind_frame(FrameKind::ack, "Z");
    if (refusal(status)) return kind_frame(FrameKind::refused, "Z", command_status(id, status));
  }
  // Identification and other informative replies: `I4 A "B021002593"`, `I10 A "Balance"`, "I1 A 01 2.00 ...",
  // `@ A "123456789"` (the answer to a reset), "TA A 2.486 g" (the tare value, not a load), "TAC A" (tare cleared),
  // multi-line lists "I0 B 1 "D"". Recognised, and never a weight.
  const bool command_name = !id.empty() && ((id[0] >= 'A' && id[0] <= 'Z') || id[0] == '@');
  if (command_name && (status == "A" || status == "B")) return kind_frame(FrameKind::info, std::string(id));
  return garbage_frame("unknown MT-SICS reply");
}

}  // namespace tally::scale_serial
