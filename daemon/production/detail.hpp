#pragma once
// Helpers shared by the production state machine's files (production.cpp, production_batch.cpp,
// production_work_order.cpp). Not part of its interface.
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "production/production.hpp"

namespace tally::production_detail {

using namespace std::chrono;

// Durations are measured on the monotonic clock only (see Production::set_clock).
inline double seconds_between(mono_time a, mono_time b) { return std::round(duration<double>(b - a).count() * 1000) / 1000; }

// /proc/sys/kernel/random/boot_id: monotonic instants saved in this boot are comparable with now.
std::string current_boot_id();

inline Outcome refused(std::string why) {
  Outcome o;
  o.ok = false;
  o.error = std::move(why);
  return o;
}

// Context values (batch, work order, serial, lot, operator) are stamped into every record that follows, so their
// size multiplies: an 8 KB serial made every reading 8 KB. Identifiers are bounded far above any barcode a bench
// sees (GS1 serials and lots are at most 20 characters), free text (a note, a reason) a little further.
constexpr std::size_t kMaxIdentifier = 128;  // bytes
constexpr std::size_t kMaxText = 1024;       // bytes: notes and reasons

// Why `s` may not be stamped into records as text, or "" when it may: it must be valid UTF-8 without control
// characters (C0, DEL, C1: a NUL cuts a C string, an escape code rewrites a terminal) and without the Unicode
// bidirectional controls (U+202A..U+202E, U+2066..U+2069: a right-to-left override makes "SN-1" display as
// another serial). Two different values must never print the same.
std::string text_problem(std::string_view s);

// An optional identifier or text argument; a present one must be a non-empty string or a whole number (a serial
// or lot scanned as digits arrives as a JSON number from tools that type their arguments), at most `max_bytes`,
// and printable text (text_problem).
inline std::optional<std::string> text(const json& args, const char* key, std::string& error,
                                       std::size_t max_bytes = kMaxIdentifier) {
  if (!args.contains(key) || args[key].is_null()) return std::nullopt;
  if (args[key].is_number_integer()) return args[key].dump();
  if (!args[key].is_string() || args[key].get<std::string>().empty()) {
    if (error.empty()) error = std::string("\"") + key + "\" must be a non-empty string or a whole number";
    return std::nullopt;
  }
  const auto& value = args[key].get_ref<const std::string&>();
  std::string why;
  if (value.size() > max_bytes)
    why = "is " + std::to_string(value.size()) + " bytes long; at most " + std::to_string(max_bytes) + " are allowed";
  else
    why = text_problem(value);
  if (!why.empty()) {
    if (error.empty()) error = std::string("\"") + key + "\" " + why;
    return std::nullopt;
  }
  return value;
}

// A recipe as saved (the batch's snapshot row) and read back by restore().
json recipe_to_json(const Recipe& r);

inline std::string recipe_list(const std::vector<Recipe>& recipes) {
  std::string list;
  for (const auto& r : recipes) list += (list.empty() ? "" : ", ") + r.id;
  return list.empty() ? "none configured" : list;
}

}  // namespace tally::production_detail
