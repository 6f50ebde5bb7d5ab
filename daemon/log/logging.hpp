#pragma once
#include <optional>
#include <string>

#include <spdlog/common.h>

namespace tally {
std::optional<spdlog::level::level_enum> parse_log_level(const std::string& name);
// Logs go to stderr. Under systemd (JOURNAL_STREAM set) journald adds the time, so we do not.
void setup_logging(spdlog::level::level_enum level);
}  // namespace tally
