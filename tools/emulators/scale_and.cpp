// tally-emu scale, A&D: answers Q, SI, S, SIR, C, T, R (no reply; refused EC,E11 / EC,E17), P/ON/OFF; else EC,E01.
// Forms (drivers/scale_serial/corpus/and.tsv):
//   standard   "ST,+00123.45  g", "US,...", "OL,+999999.9  g" / "OL,-999999.9  g"   (EK-L/EJ manuals)
//   csv        "ST,+00123.45,  g" (the unit after a comma, also when overloaded)     (FX-i manual, CSV format)
//   indicator  "ST,GS,+00123.45  g" / "US,NT,..." and "OL,GS,+            "         (two-header indicators)
//   wide       "ST,+0004775.7   g": one more digit and a wider unit field            (a GX-10202M capture)
#include <cmath>
#include <cstdio>

#include "scale.hpp"

namespace tally::emu::scale {

namespace {

class And final : public ScaleProtocol {
 public:
  explicit And(std::string form) : form_(std::move(form)) {}

  std::string weight_line(const Display& d) const override {
    const int width = form_ == "wide" ? 9 : 8;  // digits and point after the sign
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*.*f", width, d.decimals, std::fabs(d.value));
    const std::string digits = buf;
    const std::string unit = form_ == "csv" ? "," + right(d.unit, 3) : form_ == "wide" ? right(d.unit, 4) : right(d.unit, 3);
    const std::string second = form_ == "indicator" ? "GS," : "";
    if (d.over || d.under || digits.size() > static_cast<std::size_t>(width)) {
      if (form_ == "indicator") return std::string("OL,GS,") + (d.under ? "-" : "+") + std::string(12, ' ');
      return std::string("OL,") + (d.under ? "-" : "+") + "999999.9" + unit;
    }
    return std::string(d.stable ? "ST" : "US") + "," + second + (d.value < 0 ? "-" : "+") + digits + unit;
  }

  bool handle(Scale& sc, const Request& r, steady::time_point now) override {
    const std::string& c = r.text;
    if (c == "Q" || c == "SI") return sc.send(sc.weight_line(now)), true;
    if (c == "S") {
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      return sc.send(ok ? sc.weight_line(now) : "EC,E11"), true;
    }
    if (c == "SIR") {
      sc.stream = Stream::continuous;
      sc.next_stream = now;
      return true;
    }
    if (c == "C") {
      sc.stream = sc.stream_setting;  // C cancels SIR; stream mode (a menu setting) goes on
      return true;
    }
    if (c == "T" || c == "R") {
      // RE-ZERO and TARE keys: no reply (the ACK setting is off); a refusal is "EC,E11" (stability).
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      const std::string why = !ok ? "I" : c == "T" ? sc.do_tare(now) : sc.do_zero(now);
      if (!why.empty()) sc.send(why == "I" ? "EC,E11" : "EC,E17");
      return true;
    }
    if (c == "P" || c == "ON" || c == "OFF") return true;
    return sc.send("EC,E01"), true;
  }

 private:
  std::string form_;
};

}  // namespace

std::unique_ptr<ScaleProtocol> make_and(const std::string& form) {
  if (form.empty() || form == "standard" || form == "csv" || form == "indicator" || form == "wide")
    return std::make_unique<And>(form.empty() ? "standard" : form);
  throw UsageError("A&D forms: standard, csv, indicator, wide");
}

}  // namespace tally::emu::scale
