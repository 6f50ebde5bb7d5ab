#pragma once
// Helpers shared by the production state machine's files (production.cpp, production_batch.cpp,
// production_work_order.cpp). Not part of its interface.
#include <cmath>
#include <optional>
#include <string>
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

// An optional identifier or text argument; a present one must be a non-empty string or a whole number (a serial
// or lot scanned as digits arrives as a JSON number from tools that type their arguments).
inline std::optional<std::string> text(const json& args, const char* key, std::string& error) {
  if (!args.contains(key) || args[key].is_null()) return std::nullopt;
  if (args[key].is_number_integer()) return args[key].dump();
  if (!args[key].is_string() || args[key].get<std::string>().empty()) {
    error = std::string("\"") + key + "\" must be a non-empty string or a whole number";
    return std::nullopt;
  }
  return args[key].get<std::string>();
}

inline std::string recipe_list(const std::vector<Recipe>& recipes) {
  std::string list;
  for (const auto& r : recipes) list += (list.empty() ? "" : ", ") + r.id;
  return list.empty() ? "none configured" : list;
}

}  // namespace tally::production_detail
