#include "log/logging.hpp"

#include <cstdlib>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace tally {

namespace {

// journald reads a line's priority from a "<N>" prefix with N a NUMBER (sd-daemon.h, SD_INFO etc.); a word such
// as "<info>" is not recognised and the line lands at the default priority, so `journalctl -p warning` would
// show nothing useful.
class JournalPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prefix = "<7>"; break;     // LOG_DEBUG
      case spdlog::level::info: prefix = "<6>"; break;      // LOG_INFO
      case spdlog::level::warn: prefix = "<4>"; break;      // LOG_WARNING
      case spdlog::level::err: prefix = "<3>"; break;       // LOG_ERR
      case spdlog::level::critical: prefix = "<2>"; break;  // LOG_CRIT
      default: break;
    }
    dest.append(prefix, prefix + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};

}  // namespace

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
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (std::getenv("JOURNAL_STREAM"))
    formatter->add_flag<JournalPriority>('*').set_pattern("%*%l: %v");  // journald adds the time
  else
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // spdlog swallows formatting and sink errors by default; make sure they never reach the caller.
  spdlog::set_error_handler([](const std::string&) {});
}

}  // namespace tally
