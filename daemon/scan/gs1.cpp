// GS1 element strings. The AI table holds what a small manufacturer meets (GS1 General Specifications section 3):
// identification keys with their check digits, batch and serial, dates, counts, the measure AIs with their decimal
// position, order and location numbers, returnable and individual assets, company-internal data.
#include "scan/gs1.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace tally::scan {

namespace {

enum class Charset { numeric, cset82 };
enum class Check { none, mod10, grai };  // grai: AI 8003, N1 + N13 with check digit + X0..16

struct AiSpec {
  std::string_view ai;
  int min_len, max_len;  // of the value; equal for a fixed-length AI
  Charset charset;
  Check check = Check::none;
  bool date = false;     // YYMMDD, DD may be 00 (GS1 syntax "yymmd0")
};

// GS1 General Specifications, section 3.2 (AI table), formats as in the GS1 Barcode Syntax Dictionary.
constexpr std::array kAis{
    AiSpec{"00", 18, 18, Charset::numeric, Check::mod10},   // SSCC
    AiSpec{"01", 14, 14, Charset::numeric, Check::mod10},   // GTIN
    AiSpec{"02", 14, 14, Charset::numeric, Check::mod10},   // GTIN of contained trade items
    AiSpec{"10", 1, 20, Charset::cset82},                   // batch or lot
    AiSpec{"11", 6, 6, Charset::numeric, Check::none, true},  // production date
    AiSpec{"12", 6, 6, Charset::numeric, Check::none, true},  // due date
    AiSpec{"13", 6, 6, Charset::numeric, Check::none, true},  // packaging date
    AiSpec{"15", 6, 6, Charset::numeric, Check::none, true},  // best before
    AiSpec{"16", 6, 6, Charset::numeric, Check::none, true},  // sell by
    AiSpec{"17", 6, 6, Charset::numeric, Check::none, true},  // expiry
    AiSpec{"20", 2, 2, Charset::numeric},                   // internal product variant
    AiSpec{"21", 1, 20, Charset::cset82},                   // serial number
    AiSpec{"22", 1, 20, Charset::cset82},                   // consumer product variant
    AiSpec{"240", 1, 30, Charset::cset82},                  // additional product identification
    AiSpec{"241", 1, 30, Charset::cset82},                  // customer part number
    AiSpec{"30", 1, 8, Charset::numeric},                   // variable count
    AiSpec{"37", 1, 8, Charset::numeric},                   // count of trade items
    AiSpec{"400", 1, 30, Charset::cset82},                  // customer's purchase order number
    AiSpec{"401", 1, 30, Charset::cset82},                  // GINC
    AiSpec{"402", 17, 17, Charset::numeric, Check::mod10},  // GSIN
    AiSpec{"403", 1, 30, Charset::cset82},                  // routing code
    AiSpec{"410", 13, 13, Charset::numeric, Check::mod10},  // ship to GLN
    AiSpec{"411", 13, 13, Charset::numeric, Check::mod10},  // bill to GLN
    AiSpec{"412", 13, 13, Charset::numeric, Check::mod10},  // purchased from GLN
    AiSpec{"413", 13, 13, Charset::numeric, Check::mod10},  // ship for GLN
    AiSpec{"414", 13, 13, Charset::numeric, Check::mod10},  // physical location GLN
    AiSpec{"415", 13, 13, Charset::numeric, Check::mod10},  // invoicing party GLN
    AiSpec{"416", 13, 13, Charset::numeric, Check::mod10},  // production or service location GLN
    AiSpec{"8003", 14, 30, Charset::cset82, Check::grai},   // GRAI: N14 (N1 N13 check) + X0..16
    AiSpec{"8004", 1, 30, Charset::cset82},                 // GIAI
    AiSpec{"90", 1, 30, Charset::cset82},                   // mutually agreed between trading partners
    AiSpec{"91", 1, 90, Charset::cset82},                   // 91-99: company internal
    AiSpec{"92", 1, 90, Charset::cset82},
    AiSpec{"93", 1, 90, Charset::cset82},
    AiSpec{"94", 1, 90, Charset::cset82},
    AiSpec{"95", 1, 90, Charset::cset82},
    AiSpec{"96", 1, 90, Charset::cset82},
    AiSpec{"97", 1, 90, Charset::cset82},
    AiSpec{"98", 1, 90, Charset::cset82},
    AiSpec{"99", 1, 90, Charset::cset82},
};

// Measure AIs 310n-369n: N6 with n (0-5) digits after the implied decimal point. The three-digit stems the
// General Specifications define (3.6: trade measures 310-316, 320-329, 330-337 logistic, 340-349, 350-357, 360-369).
bool measure_stem(int stem) {
  return (stem >= 310 && stem <= 316) || (stem >= 320 && stem <= 329) || (stem >= 330 && stem <= 337) ||
         (stem >= 340 && stem <= 349) || (stem >= 350 && stem <= 357) || (stem >= 360 && stem <= 369);
}
constexpr AiSpec kMeasure{"", 6, 6, Charset::numeric};

// Two-digit AI prefixes of predefined length: they need no GS after them (GS1 General Specifications 7.8.5,
// Figure 7.8.5-2). Every other AI must be followed by GS unless it ends the string, fixed-length or not.
bool predefined_length(std::string_view ai) {
  const std::string_view p = ai.substr(0, 2);
  static constexpr std::array kPredefined{"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16",
                                          "17", "18", "19", "20", "31", "32", "33", "34", "35", "36", "41"};
  return std::find(kPredefined.begin(), kPredefined.end(), p) != kPredefined.end();
}

bool digit(char c) { return c >= '0' && c <= '9'; }
bool all_digits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), digit); }

// GS1 AI encodable character set 82 (General Specifications 7.11, Figure 7.11-1).
bool cset82(char c) {
  if (digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
  return std::string_view("!\"%&'()*+,-./:;<=>?_").find(c) != std::string_view::npos;
}

// The AI at the start of `s` (2, 3 or 4 digits), and its spec; nullptr when none is known.
const AiSpec* find_ai(std::string_view s, std::string& ai) {
  for (std::size_t len = 2; len <= 4 && len <= s.size(); ++len) {
    const std::string_view head = s.substr(0, len);
    if (!all_digits(head)) return nullptr;
    for (const auto& spec : kAis)
      if (spec.ai == head) return ai = std::string(head), &spec;
    if (len == 4 && measure_stem(std::stoi(std::string(head.substr(0, 3)))) && head[3] <= '5')
      return ai = std::string(head), &kMeasure;
  }
  return nullptr;
}

bool leap(int yy) { return yy % 4 == 0; }  // two-digit years resolve within 1951-2050 (7.12): 2000 is a leap year

std::string check_date(std::string_view v) {
  const int mm = (v[2] - '0') * 10 + (v[3] - '0');
  const int dd = (v[4] - '0') * 10 + (v[5] - '0');
  const int yy = (v[0] - '0') * 10 + (v[1] - '0');
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mm < 1 || mm > 12) return "month " + std::string(v.substr(2, 2)) + " does not exist";
  const int last = days[mm - 1] + (mm == 2 && leap(yy) ? 1 : 0);
  if (dd > last) return "day " + std::string(v.substr(4, 2)) + " does not exist in month " + std::string(v.substr(2, 2));
  return {};
}

std::string validate(const AiSpec& spec, const std::string& ai, std::string_view v) {
  const std::string name = "(" + ai + ")";
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    const bool numeric_part = spec.charset == Charset::numeric || (spec.check == Check::grai && i < 14);
    if (numeric_part ? !digit(c) : !cset82(c))
      return name + ": character " + std::to_string(i + 1) + " is not allowed here";
  }
  if (spec.check == Check::mod10 && !gs1_check_digit_ok(v))
    return name + ": check digit is " + std::string(1, v.back()) + ", expected " +
           std::to_string(gs1_check_digit(v.substr(0, v.size() - 1)));
  if (spec.check == Check::grai && !gs1_check_digit_ok(v.substr(1, 13)))
    return name + ": check digit is " + std::string(1, v[13]) + ", expected " +
           std::to_string(gs1_check_digit(v.substr(1, 12)));
  if (spec.date) {
    if (std::string why = check_date(v); !why.empty()) return name + ": invalid date " + std::string(v) + ": " + why;
  }
  return {};
}

Parsed invalid(Parsed p, std::string reason) {
  p.valid = false;
  p.reason = std::move(reason);
  return p;
}

Parsed bad_bracketed(std::string reason) {
  Parsed p;
  p.kind = CodeKind::gs1;
  return invalid(std::move(p), std::move(reason));
}

}  // namespace

const Element* Parsed::find(std::string_view ai) const {
  for (const auto& e : elements)
    if (e.ai == ai) return &e;
  return nullptr;
}

int gs1_check_digit(std::string_view digits) {
  int sum = 0, weight = 3;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, weight = 4 - weight) sum += (*it - '0') * weight;
  return (10 - sum % 10) % 10;
}

bool gs1_check_digit_ok(std::string_view digits) {
  return digits.size() >= 2 && all_digits(digits) &&
         gs1_check_digit(digits.substr(0, digits.size() - 1)) == digits.back() - '0';
}

Parsed parse_element_string(std::string_view s) {
  Parsed p;
  p.kind = CodeKind::gs1;
  std::size_t pos = 0;
  while (pos < s.size() && s[pos] == GS) ++pos;  // FNC1 in first position, as some scanners transmit it
  if (pos == s.size()) return invalid(std::move(p), "empty GS1 element string");
  while (pos < s.size()) {
    std::string ai;
    const AiSpec* spec = find_ai(s.substr(pos), ai);
    if (!spec)
      return invalid(std::move(p), "no known AI at character " + std::to_string(pos + 1) + " (\"" +
                                       std::string(s.substr(pos, 4)) + "\")");
    pos += ai.size();
    const std::size_t gs = std::min(s.find(GS, pos), s.size());
    std::string_view value;
    if (spec->min_len == spec->max_len) {
      value = s.substr(pos, std::min<std::size_t>(spec->max_len, gs - pos));
      if (static_cast<int>(value.size()) < spec->min_len)
        return invalid(std::move(p), "(" + ai + "): " + std::to_string(value.size()) + " characters, needs " +
                                         std::to_string(spec->min_len));
      pos += value.size();
      if (pos < s.size() && s[pos] != GS && !predefined_length(ai))
        return invalid(std::move(p), "(" + ai + "): missing GS separator after it");
    } else {
      value = s.substr(pos, gs - pos);
      if (static_cast<int>(value.size()) < spec->min_len)
        return invalid(std::move(p), "(" + ai + "): empty value");
      if (static_cast<int>(value.size()) > spec->max_len)
        return invalid(std::move(p), "(" + ai + "): " + std::to_string(value.size()) + " characters, at most " +
                                         std::to_string(spec->max_len) + " (missing GS separator?)");
      pos += value.size();
    }
    if (pos < s.size() && s[pos] == GS) ++pos;
    if (std::string why = validate(*spec, ai, value); !why.empty()) return invalid(std::move(p), why);
    Element e{ai, std::string(value), std::nullopt};
    if (spec == &kMeasure) e.measure = std::stod(e.value) / std::pow(10.0, ai[3] - '0');
    if (const Element* before = p.find(ai)) {
      if (before->value != e.value) return invalid(std::move(p), "(" + ai + ") appears twice with different values");
      continue;
    }
    p.elements.push_back(std::move(e));
  }
  return p;
}

Parsed parse_bracketed(std::string_view text) {
  // "(01)09506000134376(10)ABC" -> "0109506000134376" "10ABC": a GS after every element but the last, which the
  // element-string parser accepts after any AI. A '(' inside a value cannot be told from the next AI: as in the
  // GS1 Barcode Syntax Engine's bracketed input, such values are not supported here.
  std::string s;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] != '(') return bad_bracketed("bracketed GS1: expected '(' at character " +
                                                                     std::to_string(pos + 1));
    const std::size_t close = text.find(')', pos);
    if (close == std::string_view::npos) return bad_bracketed("bracketed GS1: unclosed '('");
    const std::string_view ai = text.substr(pos + 1, close - pos - 1);
    if (ai.size() < 2 || ai.size() > 4 || !all_digits(ai))
      return bad_bracketed("bracketed GS1: \"" + std::string(ai) + "\" is not an AI");
    const std::size_t next = std::min(text.find('(', close), text.size());
    if (next == close + 1) return bad_bracketed("(" + std::string(ai) + "): empty value");
    if (!s.empty()) s += GS;
    s += ai;
    std::string check_ai;
    const AiSpec* spec = find_ai(ai, check_ai);
    if (!spec || check_ai != ai) return bad_bracketed("(" + std::string(ai) + "): unknown AI");
    const std::string_view value = text.substr(close + 1, next - close - 1);
    if (spec->min_len == spec->max_len && static_cast<int>(value.size()) != spec->min_len)
      return bad_bracketed("(" + std::string(ai) + "): " + std::to_string(value.size()) +
                                                " characters, needs " + std::to_string(spec->min_len));
    s += value;
    pos = next;
  }
  return parse_element_string(s);
}

Parsed parse_code(std::string_view code, std::string_view symbology) {
  static constexpr std::array kGs1Symbologies{"]C1", "]e0", "]d2", "]Q3", "]J1"};
  if (std::find(kGs1Symbologies.begin(), kGs1Symbologies.end(), symbology) != kGs1Symbologies.end())
    return parse_element_string(code);
  const bool ean_symbology = symbology == "]E0" || symbology == "]E4";
  const bool ean_shaped = all_digits(code) && (code.size() == 8 || code.size() == 12 || code.size() == 13);
  if (ean_symbology || (symbology.empty() && ean_shaped)) {
    Parsed p;
    p.kind = CodeKind::ean;
    const char* name = code.size() == 8 ? "EAN-8" : code.size() == 12 ? "UPC-A" : "EAN-13";
    if (!ean_shaped) return invalid(std::move(p), "not an EAN-8, UPC-A or EAN-13: " + std::to_string(code.size()) +
                                                      " characters");
    if (!gs1_check_digit_ok(code))
      return invalid(std::move(p), std::string(name) + ": check digit is " + std::string(1, code.back()) +
                                       ", expected " + std::to_string(gs1_check_digit(code.substr(0, code.size() - 1))));
    return p;
  }
  if (symbology.empty()) {
    if (code.find(GS) != std::string_view::npos) return parse_element_string(code);
    if (code.size() > 4 && code.front() == '(' && all_digits(code.substr(1, 2))) return parse_bracketed(code);
  }
  return Parsed{};
}

}  // namespace tally::scan
