// tally-emu scale, MT-SICS (Mettler Toledo): answers SI, S, SIR, T, Z, ZI, @, I4, TA, TAC; anything else ES.
// Forms (drivers/scale_serial/corpus/mt_sics.tsv):
//   standard  "S S     100.00 g" / "S D ..." / "S +" / "S -"          (MT-SICS reference manual)
//   a-status  "S A 100.00 g" for a stable weight                       (instrumentkit's MT-SICS tests)
//   named     the reply named after the command: "SI D   -12.345 g"  (another decoder's examples)
#include <cmath>

#include "scale.hpp"

namespace tally::emu::scale {

namespace {

using namespace std::chrono_literals;

class MtSics final : public ScaleProtocol {
 public:
  explicit MtSics(std::string form) : form_(std::move(form)) {}

  std::string weight_line(const Display& d) const override { return line("S", d); }

  bool handle(Scale& sc, const Request& r, steady::time_point now) override {
    const std::string& c = r.text;
    if (sc.stream == Stream::continuous) sc.stream = Stream::off;  // SIR runs until the next command
    if (c == "SI") return sc.send(line("SI", sc.display(now))), true;
    if (c == "SIR") {
      sc.stream = Stream::continuous;
      sc.next_stream = now;
      return true;
    }
    if (c == "S" || c == "T" || c == "Z") {
      const auto ok = sc.settled(r, now);
      if (ok == false) return false;
      if (!ok) return sc.send(c + " I"), true;  // no stable weight in time
      if (c == "S") return sc.send(line("S", sc.display(now))), true;
      if (c == "T") {
        const std::string why = sc.do_tare(now);
        if (!why.empty()) return sc.send("T " + why), true;
        const Display d = sc.display(now);
        return sc.send("T S " + right(d.number(sc.in_unit(sc.model.tare_g)), 10) + " " + d.unit), true;
      }
      const std::string why = sc.do_zero(now);
      return sc.send(why.empty() ? "Z A" : "Z " + why), true;
    }
    if (c == "ZI") {
      const bool was_stable = sc.model.stable(now);
      const std::string why = sc.refuse_zero ? "I" : sc.do_zero(now);
      return sc.send(why.empty() ? std::string("ZI ") + (was_stable ? "S" : "D") : "ZI " + why), true;
    }
    if (c == "@") {  // reset: cancels everything, clears the tare, identifies itself
      sc.queue.erase(sc.queue.begin() + 1, sc.queue.end());
      sc.model.tare_g = 0;
      return sc.send("I4 A \"B021002593\""), true;
    }
    if (c == "I4") return sc.send("I4 A \"B021002593\""), true;
    if (c == "TA") {
      const Display d = sc.display(now);
      return sc.send("TA A " + right(d.number(sc.model.tare_g / grams_per(d.unit)), 10) + " " + d.unit), true;
    }
    if (c == "TAC") {
      sc.model.tare_g = 0;
      return sc.send("TAC A"), true;
    }
    return sc.send("ES"), true;
  }

 private:
  // The weight reply to `command`: status, the weight right-aligned in 10, the unit.
  std::string line(const std::string& command, const Display& d) const {
    const std::string id = form_ == "named" ? command : "S";
    if (d.over) return id + " +";
    if (d.under) return id + " -";
    if (form_ == "a-status" && d.stable) return id + " A " + d.number(d.value) + " " + d.unit;
    return id + " " + (d.stable ? "S" : "D") + " " + right(d.number(d.value), 10) + " " + d.unit;
  }
  std::string form_;
};

}  // namespace

std::unique_ptr<ScaleProtocol> make_mt_sics(const std::string& form) {
  if (form.empty() || form == "standard" || form == "a-status" || form == "named")
    return std::make_unique<MtSics>(form.empty() ? "standard" : form);
  throw UsageError("MT-SICS forms: standard, a-status, named");
}

}  // namespace tally::emu::scale
