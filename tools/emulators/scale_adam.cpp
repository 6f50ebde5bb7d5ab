// tally-emu scale, Adam Equipment: answers P (print), T, Z (no reply). Forms (drivers/scale_serial/corpus/adam.tsv):
//   plain      "      123.45 g ": the signed weight right-justified in 12, unit, space; overload "OL" (unsure)
//   highland   "ST,GS      123.45 g " / "US,NT-     123.45 g " (Highland continuous output: stability, gross/net)
//   glued      Highland Format 2: a 2-letter unit against the number, "      0.12345lb "
//   format1    "GS      123.45 g " (Highland Format 1 weight line: a prefix, no stability)
//   mdw        overload "^^^^^^^^^kg", underload "_________kg" (MDW-L)
#include <cmath>

#include "scale.hpp"

namespace tally::emu::scale {

namespace {

class Adam final : public ScaleProtocol {
 public:
  explicit Adam(std::string form) : form_(std::move(form)) {}

  std::string weight_line(const Display& d) const override {
    const std::string& u = d.unit;
    if (form_ == "mdw" && (d.over || d.under)) return std::string(9, d.over ? '^' : '_') + u;
    if (d.over || d.under) return right(d.over ? "OL" : "UL", 12) + " " + u + " ";
    if (form_ == "highland")
      return std::string(d.stable ? "ST," : "US,") + (d.tare != 0 ? "NT" : "GS") + (d.value < 0 ? "-" : " ") +
             right(d.number(std::fabs(d.value)), 11) + " " + u + " ";
    if (form_ == "glued")
      return (d.value < 0 ? "-" : " ") + right(d.number(std::fabs(d.value)), 12) + (u.size() == 1 ? " " + u + " " : left(u, 3));
    if (form_ == "format1") return (d.tare != 0 ? "NT" : "GS") + right(d.number(d.value), 12) + " " + u + " ";
    return right(d.number(d.value), 12) + " " + u + " ";
  }

  bool handle(Scale& sc, const Request& r, steady::time_point now) override {
    const std::string& c = r.text;
    if (c == "P") return sc.send(sc.weight_line(now)), true;
    if (c == "T" || c == "Z") {
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      if (ok && c == "T") sc.do_tare(now);
      if (ok && c == "Z") sc.do_zero(now);
    }
    return true;
  }

 private:
  std::string form_;
};

}  // namespace

std::unique_ptr<ScaleProtocol> make_adam(const std::string& form) {
  if (form.empty() || form == "plain" || form == "highland" || form == "glued" || form == "format1" || form == "mdw")
    return std::make_unique<Adam>(form.empty() ? "plain" : form);
  throw UsageError("Adam forms: plain, highland, glued, format1, mdw");
}

}  // namespace tally::emu::scale
