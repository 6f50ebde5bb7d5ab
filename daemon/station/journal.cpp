#include "station/journal.hpp"

#include <spdlog/spdlog.h>

#include "commands/decode.hpp"
#include "log/log_escape.hpp"

namespace tally {

void Journal::event(const std::string& name, const json& fields) {
  buffer_.append(make_event(stamp_, name, std::chrono::system_clock::now(), fields, production_.context()));
}

void Journal::command(const json& id, const std::string& cmd, const std::string& source, const json& args, bool ok,
                      const std::string& error) {
  json fields{{"id", commands::summary(id)}, {"cmd", commands::summary(cmd)}, {"source", source}, {"ok", ok}};
  if (args.is_object() && !args.empty()) fields["args"] = commands::summary(args);
  if (!ok) fields["error"] = error.size() <= 256 ? error : error.substr(0, 256) + "...";
  event("command", fields);
  if (!ok)
    spdlog::info("command {} from {} refused: {}", cmd.empty() ? "(malformed)" : escape_for_log(cmd, 64),
                 escape_for_log(source, 64), escape_for_log(error));
}

}  // namespace tally
