#pragma once
// What a scanned code says, before any rule looks at it: a GS1 element string split into its Application
// Identifiers and checked against every AI of GS1's Barcode Syntax Dictionary (the generated gs1_ai_table.inc:
// format, lengths, check digits, dates, the AIs of predefined length that need no separator), or a plain EAN/UPC
// with its check digit verified, or a plain code nobody can check. Pure: strings in, a verdict out.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tally::scan {

inline constexpr char GS = '\x1D';  // ASCII group separator: FNC1 as a scanner transmits it

struct Element {
  std::string ai;     // "01", "3103", "8003"
  std::string value;  // the data as scanned, e.g. "001250" for (3103)
  // Measure AIs (310n-369n): the value with its implied decimal point, e.g. 1.25 for (3103)001250.
  std::optional<double> measure;
};

enum class CodeKind {
  plain,  // no structure Tally knows: valid by definition
  ean,    // EAN-13, EAN-8 or UPC-A: the check digit was verified
  gs1,    // a GS1 element string: elements parsed and checked
};

struct Parsed {
  CodeKind kind = CodeKind::plain;
  bool valid = true;
  std::string reason;              // why not valid ("AI (01): check digit is 3, expected 4")
  std::vector<Element> elements;   // gs1 only, in scan order
  const Element* find(std::string_view ai) const;
};

// Parses `code` (AIM identifier already split off into `symbology`, which may be empty):
//  - an empty code: invalid, "no data after the symbology identifier ]C1" (or "empty code" without one).
//  - `]C1`, `]e0`, `]d2`, `]Q3`, `]J1`: a GS1 element string (FNC1 in first position is implied; a leading GS is
//    tolerated).
//  - no symbology and a code containing GS, or in the bracketed form "(01)...(10)...": a GS1 element string too.
//  - `]E0`, `]E4`, or no symbology and 8, 12 or 13 digits: EAN-8, UPC-A or EAN-13 with its check digit.
//  - anything else: plain.
Parsed parse_code(std::string_view code, std::string_view symbology);

// A GS1 element string without AIM identifier and without leading FNC1 (GS separators as ASCII 29).
Parsed parse_element_string(std::string_view data);
// The bracketed human-readable form "(01)09506000134376(10)ABC".
Parsed parse_bracketed(std::string_view text);

// GS1 mod-10 check digit over `digits` (all but the check digit): weights 3,1,3,... from the right.
int gs1_check_digit(std::string_view digits);
// True when the last digit of `digits` (all ASCII digits) is the GS1 check digit of the others.
bool gs1_check_digit_ok(std::string_view digits);

}  // namespace tally::scan
