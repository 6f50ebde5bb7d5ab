#include "scale_serial/fields.hpp"

#include <cerrno>
#include <cstdlib>

#include "serial/line_splitter.hpp"

namespace tally::scale_serial {

namespace {
bool blank(char c) { return c == ' ' || c == '\t'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_blanks(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && blank(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !blank(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<Number> parse_number(std::string_view text) {
  text = trim(text);
  std::string clean;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    if (text[i] == '-') clean.push_back('-');
    ++i;
    while (i < text.size() && blank(text[i])) ++i;
  }
  int digits = 0, decimals = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (digit(c)) {
      ++digits;
      if (point) ++decimals;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return std::nullopt;  // anything else inside the field: not a number this parser trusts
    }
    clean.push_back(c);
  }
  if (digits == 0 || digits > 15) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(clean.c_str(), &end);
  if (*end != '\0' || errno == ERANGE) return std::nullopt;
  return Number{v == 0 ? 0.0 : v, decimals};  // "-0.00" is 0, not -0
}

ScaleFrame weight_frame(Number n, std::string_view unit, bool stable) {
  ScaleFrame f;
  f.kind = FrameKind::weight;
  f.value = n.value;
  f.decimals = n.decimals;
  f.unit = lower(unit);
  f.stable = stable;
  return f;
}

ScaleFrame fault_frame(std::string reason) {
  ScaleFrame f;
  f.kind = FrameKind::fault;
  f.reason = std::move(reason);
  return f;
}

ScaleFrame garbage_frame(std::string reason) {
  ScaleFrame f;
  f.kind = FrameKind::garbage;
  f.reason = std::move(reason);
  return f;
}

ScaleFrame kind_frame(FrameKind kind, std::string command, std::string reason) {
  ScaleFrame f;
  f.kind = kind;
  f.command = std::move(command);
  f.reason = std::move(reason);
  return f;
}

std::optional<ScaleFrame> fault_word(const std::vector<std::string_view>& tokens) {
  if (tokens.empty()) return std::nullopt;
  const std::string first = lower(tokens[0]);
  if (first == "ol" || first == "-ol-" || first == "over" || first == "overload") return fault_frame("overload");
  if (first == "ul" || first == "-ul-" || first == "under" || first == "underload") return fault_frame("underload");
  if (first == "err" || first == "error")
    return fault_frame("error " + (tokens.size() > 1 ? std::string(tokens[1]) : ""));
  return std::nullopt;
}

std::optional<Number> leading_number(const std::vector<std::string_view>& tokens, std::size_t& next) {
  if (tokens.empty()) return std::nullopt;
  std::string number(tokens[0]);
  next = 1;
  if ((number == "-" || number == "+") && tokens.size() > 1) number += std::string(tokens[next++]);
  return parse_number(number);
}

std::optional<NumberUnit> number_then_unit(std::string_view text) {
  text = trim(text);
  std::size_t end = 0;
  while (end < text.size() && !((text[end] >= 'a' && text[end] <= 'z') || (text[end] >= 'A' && text[end] <= 'Z') ||
                                text[end] == '%' || text[end] == '/'))
    ++end;
  const auto n = parse_number(text.substr(0, end));
  if (!n) return std::nullopt;
  return NumberUnit{*n, trim(text.substr(end))};
}

std::optional<Number> pounds_ounces(std::string_view pounds, std::string_view ounces, bool negative) {
  const auto lb = parse_number(pounds), oz = parse_number(ounces);
  if (!lb || !oz || lb->decimals != 0 || lb->value < 0 || oz->value < 0 || oz->value >= 16) return std::nullopt;
  const double total = lb->value * 16 + oz->value;
  return Number{negative && total != 0 ? -total : total, oz->decimals};
}

bool starts_with_word(std::string_view text, std::string_view word) {
  if (text.size() < word.size()) return false;
  return lower(text.substr(0, word.size())) == lower(word);
}

}  // namespace tally::scale_serial
