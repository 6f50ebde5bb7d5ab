#pragma once
// Small text helpers shared by the protocol parsers: trimming, splitting on blanks, strict decimal numbers and the
// constructors of the frame kinds. Pure.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scale_serial/protocol.hpp"
#include "serial/line_splitter.hpp"  // printable_line: the noise rule every serial parser shares

namespace tally::scale_serial {

std::string_view trim(std::string_view s);
std::vector<std::string_view> split_blanks(std::string_view s);  // on runs of spaces and tabs
std::string lower(std::string_view s);

// A decimal as scales print it: optional sign, digits with at most one point ("+00123.45", "-0.5", "12."), and
// optionally blanks between the sign and the digits ("-   12.5", Sartorius and Ohaus pad after the sign).
struct Number {
  double value = 0;
  int decimals = 0;
};
std::optional<Number> parse_number(std::string_view text);

// The words plain-text formats (Ohaus, Adam) print instead of a weight: "OL"/"-OL-"/"over(load)",
// "UL"/"-UL-"/"under(load)", "Err <code>". Unsure in the manuals, so every variant we know is accepted.
std::optional<ScaleFrame> fault_word(const std::vector<std::string_view>& tokens);

// The number the tokens start with, a lone sign token before it joined ("-", "12.73"); `next` is set to the index
// of the token after it.
std::optional<Number> leading_number(const std::vector<std::string_view>& tokens, std::size_t& next);

// A number with its unit glued on or after blanks ("0.12345lb", "123.45dwt", "125PCS", "123.45 g"): the number part
// ends at the first letter. nullopt when the part before it is not a number.
struct NumberUnit {
  Number number;
  std::string_view unit;  // may be empty
};
std::optional<NumberUnit> number_then_unit(std::string_view text);

// True when `text` begins with `word`, case-insensitive ("Gross Wt 1.234 Kg" begins with "gross wt").
bool starts_with_word(std::string_view text, std::string_view word);

// Pounds and ounces as one reading ("3 lb:5.6 oz" on Ohaus Ranger/Valor, "12:07.50 lb:oz" on an MT-SICS BC60),
// expressed in ounces: (3 * 16 + 5.6) oz, with the ounces' resolution. `negative` applies to the whole.
std::optional<Number> pounds_ounces(std::string_view pounds, std::string_view ounces, bool negative);

ScaleFrame weight_frame(Number n, std::string_view unit, bool stable);
ScaleFrame fault_frame(std::string reason);
ScaleFrame garbage_frame(std::string reason);
ScaleFrame kind_frame(FrameKind kind, std::string command, std::string reason = {});


}  // namespace tally::scale_serial
