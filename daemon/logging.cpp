#include "logging.hpp"

#include <cstdlib>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tally {

std::optional<spdlog::level::level_enum> parse_log_level(const std::string& name) {
  static const std::pair<const char*, spdlog::level::level_enum> levels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err}};
  for (const auto& [n, l] : levels)
    if (name == n) return l;
  return std::nullopt;
}

void setup_logging(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_logger_mt("tallyd");
  logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "<%l> %v" : "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // spdlog swallows formatting and sink errors by default; make sure they never reach the caller.
  spdlog::set_error_handler([](const std::string&) {});
}

}  // namespace tally
