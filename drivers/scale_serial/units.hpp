#pragma once
// Mass units and exact conversion between them. Pure.
#include <optional>
#include <string_view>

namespace tally::scale_serial {

// Grams in one `unit` (lower case, as the parsers normalise it): g, kg, mg, lb, oz, ozt, dwt, ct, gn, mom.
// Exact by definition: 1 lb = 453.59237 g (international pound), 1 oz = 1/16 lb = 28.349523125 g. nullopt for what
// is not a mass (a count "pcs", a percentage "%").
std::optional<double> grams_per(std::string_view unit);

// `value` printed with `decimals` digits in `from`, expressed in `to` and rounded to the resolution it really has
// there: 123.45 g -> 0.12345 kg (exact), 123.45 g -> 0.272161 lb (one digit more than the resolution, as the
// factor is not a power of ten), so the published number carries no binary noise (0.012339999...). nullopt when a
// unit is not a mass.
std::optional<double> convert_mass(double value, int decimals, std::string_view from, std::string_view to);

// The number of decimals the converted value keeps (see convert_mass).
int converted_decimals(int decimals, double grams_from, double grams_to);

}  // namespace tally::scale_serial
