#include "scale_serial/units.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace tally::scale_serial {

namespace {
constexpr std::array<std::pair<std::string_view, double>, 13> kGrams{{
    {"g", 1.0},
    {"kg", 1000.0},
    {"mg", 0.001},
    {"lb", 453.59237},        // international avoirdupois pound, exact since 1959
    {"lbs", 453.59237},
    {"oz", 28.349523125},     // 1/16 lb, exact
    {"ozt", 31.1034768},      // troy ounce
    {"dwt", 1.55517384},      // pennyweight (1/20 ozt)
    {"ct", 0.2},              // metric carat
    {"gn", 0.06479891},       // grain (1/7000 lb)
    {"mom", 3.75},            // momme (A&D balances offer it)
    {"tola", 11.6638038},     // 180 grains exactly (A&D prints it as "t": and_fx.cpp renames it)
    {"t", 1'000'000.0},       // metric tonne (indicators); A&D's "t" is the tola, renamed by its parser
}};
}  // namespace

std::optional<double> grams_per(std::string_view unit) {
  for (const auto& [name, grams] : kGrams)
    if (name == unit) return grams;
  return std::nullopt;
}

int converted_decimals(int decimals, double grams_from, double grams_to) {
  if (grams_from == grams_to) return decimals;
  const double shift = std::log10(grams_to / grams_from);  // kg from g: +3 digits
  const double whole = std::round(shift);
  // A power-of-ten factor moves the point; any other factor makes the resolution an odd number, keep one digit more.
  const int d = std::abs(shift - whole) < 1e-9 ? decimals + static_cast<int>(whole)
                                                : decimals + static_cast<int>(std::ceil(shift)) + 1;
  return std::clamp(d, 0, 9);
}

std::optional<double> convert_mass(double value, int decimals, std::string_view from, std::string_view to) {
  const auto gf = grams_per(from), gt = grams_per(to);
  if (!gf || !gt) return std::nullopt;
  if (*gf == *gt) return value;  // no conversion: the parsed value is already the nearest double to what was printed
  const int d = converted_decimals(decimals, *gf, *gt);
  const double scale = std::pow(10.0, d);
  const double out = std::round(value * *gf / *gt * scale) / scale;
  return out == 0 ? 0.0 : out;
}

}  // namespace tally::scale_serial
