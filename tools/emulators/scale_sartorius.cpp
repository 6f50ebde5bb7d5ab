// tally-emu scale, Sartorius SBI: ESC P print, ESC T tare/zero key (zero near zero, else tare), ESC U tare, ESC V
// zero (no reply); other ESC commands ignored. Forms (drivers/scale_serial/corpus/sartorius.tsv):
//   sbi16  "+   1255.7 g  ", unstable without the unit, "+        H    " / "-        L    "  (Signum manual)
//   sbi22  "N     +   1255.7 g  " (G when no tare), "Stat     High       " / "Stat     Low        " (Entris II)
#include <cmath>

#include "scale.hpp"

namespace tally::emu::scale {

namespace {

class Sartorius final : public ScaleProtocol {
 public:
  explicit Sartorius(std::string form) : form_(std::move(form)) {}

  std::string weight_line(const Display& d) const override {
    if (form_ == "sbi22") {
      if (d.over) return "Stat     High       ";
      if (d.under) return "Stat     Low        ";
      return left(d.tare != 0 ? "N" : "G", 6) + sbi16(d);
    }
    return sbi16(d);
  }

  bool handle(Scale& sc, const Request& r, steady::time_point now) override {
    const char c = r.text.empty() ? '\0' : r.text[0];
    if (c == 'P') return sc.send(sc.weight_line(now)), true;
    if (c == 'T' || c == 'U' || c == 'V') {  // tare/zero key, tare, zero: no reply
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      if (!ok) return true;
      const bool zero = c == 'V' || (c == 'T' && std::fabs(sc.model.gross(now) - sc.model.zero_g) <
                                                     sc.model.capacity_g * 0.02);
      if (zero) sc.do_zero(now);
      else sc.do_tare(now);
    }
    return true;  // unknown ESC commands are ignored
  }

  bool escape_commands() const override { return true; }

 private:
  // sign, space, 8-character weight, space, 3-character unit (blank while unstable)
  static std::string sbi16(const Display& d) {
    if (d.over) return "+ " + right("H", 8) + " " + "   ";
    if (d.under) return "- " + right("L", 8) + " " + "   ";
    const char sign = d.value > 0 ? '+' : d.value < 0 ? '-' : ' ';
    return std::string(1, sign) + " " + right(d.number(std::fabs(d.value)), 8) + " " + (d.stable ? left(d.unit, 3) : "   ");
  }
  std::string form_;
};

}  // namespace

std::unique_ptr<ScaleProtocol> make_sartorius(const std::string& form) {
  if (form.empty() || form == "sbi16" || form == "sbi22") return std::make_unique<Sartorius>(form.empty() ? "sbi16" : form);
  throw UsageError("Sartorius forms: sbi16, sbi22");
}

}  // namespace tally::emu::scale
