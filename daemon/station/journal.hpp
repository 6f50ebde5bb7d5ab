#pragma once
// Every record a piece of the station writes goes through the Journal: into the buffer (queued for the commit at the
// end of the loop iteration), stamped with the station, whether the clock is synchronised, and the production
// context at the moment it is written.
#include <string>

#include "buffer/buffer.hpp"
#include "production/production.hpp"
#include "record/stamp.hpp"

namespace tally {

class Journal {
 public:
  Journal(Buffer& buffer, const StampInfo& stamp, const Production& production)
      : buffer_(buffer), stamp_(stamp), production_(production) {}

  Seq append(const Record& record) { return buffer_.append(record); }
  // An event on B/events with the current context.
  void event(const std::string& name, const json& fields);
  // A command (from MQTT or from device input) as a `command` event: a summary, not the whole payload, so that a
  // command event is never much bigger than the command's name. A refused one is also logged.
  void command(const json& id, const std::string& cmd, const std::string& source, const json& args, bool ok,
               const std::string& error);

  const StampInfo& stamp() const { return stamp_; }
  const StationContext& context() const { return production_.context(); }

 private:
  Buffer& buffer_;
  const StampInfo& stamp_;
  const Production& production_;
};

}  // namespace tally
