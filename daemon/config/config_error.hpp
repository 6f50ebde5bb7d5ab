#pragma once
// The configuration's typed error: every problem of a file at once, each already formatted as
// "PATH:LINE:COLUMN: message" (or "PATH: message"). Thrown by the loaders (config.hpp, sections.hpp) and caught
// in one place by each caller (tallyd's main: exit 78; a reload: the running configuration kept).
#include <stdexcept>
#include <string>
#include <vector>

namespace tally {

struct config_error : std::runtime_error {
  explicit config_error(std::vector<std::string> problems);
  std::vector<std::string> problems;
};

}  // namespace tally
