#pragma once
// Helpers for the configuration tests: what a person running `tallyd --check-config` would be told.
#include <algorithm>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/config_error.hpp"

namespace tally::test {

// The problems reported for `text` (read as "t.toml"), or an empty list when it is valid.
inline std::vector<std::string> problems(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const config_error& e) {
    return e.problems;
  }
  return {};
}

inline bool has(const std::vector<std::string>& all, const std::string& expected) {
  return std::find(all.begin(), all.end(), expected) != all.end();
}

}  // namespace tally::test
