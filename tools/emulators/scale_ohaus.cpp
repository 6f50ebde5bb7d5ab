// tally-emu scale, Ohaus: answers P, T, Z (no reply), CA continuous, SA print on stable, 0A off, 1S/0S stable-only
// print; anything else ES. Forms (drivers/scale_serial/corpus/ohaus.tsv):
//   navigator  "      12.73 g    ?", "       0.00 g"; overload "        OL g" (unsure)   (Ohaus RS232 Interface manual)
//   defender   "-    12.5 kg   ?NET", "     25.0 kg    G  ": "?" against the legend     (Defender 3000 manual 5.2)
//   cw11       "    12.34 kg ?N", "    12.34 kg  G": a 1-character legend             (CW-11 manual 4.12.1)
//   scout-pro  "     192.21 g", "       0.01 g ?"                                     (RS232 manual, Scout Pro)
//   ranger     the print-key block "SCALE: 1" / "G ..." / "T ..." / "N ..."           (Ranger Count manual 5.1.4)
#include <cmath>

#include "scale.hpp"

namespace tally::emu::scale {

namespace {

class Ohaus final : public ScaleProtocol {
 public:
  explicit Ohaus(std::string form) : form_(std::move(form)) {}

  std::string weight_line(const Display& d) const override {
    const bool net = d.tare != 0;
    const std::string polarity = d.value < 0 ? "-" : " ";
    const std::string mag = d.number(std::fabs(d.value));
    if (form_ == "defender") {  // polarity(1) space(1) weight(7) space(1) unit(5) stability(1) legend(3)
      const std::string legend = net ? "NET" : "G  ";
      if (d.over || d.under) return polarity + " " + right(d.over ? "OL" : "UL", 7) + " " + left(d.unit, 5) + " " + legend;
      return polarity + " " + right(mag, 7) + " " + left(d.unit, 5) + (d.stable ? " " : "?") + legend;
    }
    if (form_ == "cw11") {  // weight(9, signed) space unit(3) stable(1) legend(1)
      const std::string legend = net ? "N" : "G";
      if (d.over || d.under) return right(d.over ? "OL" : "UL", 9) + " " + left(d.unit, 3) + " " + legend;
      return right(d.number(d.value), 9) + " " + left(d.unit, 3) + (d.stable ? " " : "?") + legend;
    }
    if (form_ == "scout-pro") {
      if (d.over || d.under) return right(d.over ? "OL" : "UL", 11) + " " + d.unit;
      return right(d.number(d.value), 11) + " " + d.unit + (d.stable ? "" : " ?");
    }
    if (form_ == "ranger") {  // G, T, N lines: 13 blanks, polarity, weight(7), unit, stability (not on T)
      const auto row = [&](const char* id, double v, bool with_stability) {
        return std::string(id) + std::string(13, ' ') + (v < 0 ? "-" : " ") + right(d.number(std::fabs(v)), 7) + " " +
               left(d.unit, 2) + (with_stability ? (d.stable ? "  " : " ?") : " ");
      };
      if (d.over || d.under) return "SCALE: 1\r\nN" + std::string(13, ' ') + right(d.over ? "OL" : "UL", 8) + " " + d.unit;
      return "SCALE: 1\r\n" + row("G", d.value + d.tare, true) + "\r\n" + row("T", d.tare, false) + "\r\n" +
             row("N", d.value, true);
    }
    // navigator: polarity, weight right-justified in 10, space, unit; unstable: unit in 4, " ?"
    if (d.over || d.under) return " " + right(d.over ? "OL" : "UL", 10) + " " + d.unit;
    const std::string head = polarity + right(mag, 10) + " ";
    return d.stable ? head + d.unit : head + left(d.unit, 4) + " ?";
  }

  bool handle(Scale& sc, const Request& r, steady::time_point now) override {
    const std::string& c = r.text;
    if (c == "P") {
      if (sc.stable_only) {
        const auto ok = sc.settled(r, now);
        if (ok == false) return false;
      }
      return sc.send(sc.weight_line(now)), true;
    }
    if (c == "T" || c == "Z") {  // no reply; a scale that cannot tare just does not
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      if (ok && c == "T") sc.do_tare(now);
      if (ok && c == "Z") sc.do_zero(now);
      return true;
    }
    if (c == "CA") return sc.stream = Stream::continuous, sc.next_stream = now, true;
    if (c == "SA") return sc.stream = Stream::on_stable, sc.last_auto.clear(), true;
    if (c == "0A") return sc.stream = Stream::off, true;
    if (c == "1S") return sc.stable_only = true, true;
    if (c == "0S") return sc.stable_only = false, true;
    return sc.send("ES"), true;
  }

 private:
  std::string form_;
};

}  // namespace

std::unique_ptr<ScaleProtocol> make_ohaus(const std::string& form) {
  if (form.empty() || form == "navigator" || form == "defender" || form == "cw11" || form == "scout-pro" ||
      form == "ranger")
    return std::make_unique<Ohaus>(form.empty() ? "navigator" : form);
  throw UsageError("Ohaus forms: navigator, defender, cw11, scout-pro, ranger");
}

}  // namespace tally::emu::scale
