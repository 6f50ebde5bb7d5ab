#pragma once
// Stamping: a reading, scan or event becomes a record carrying the station and the production context at the
// moment it was taken. Pure: the same inputs always give the same record, so it is tested without a clock, a
// broker or a database (record/test_record.cpp).
#include <string>

#include "api/input.hpp"
#include "record/context.hpp"
#include "record/record.hpp"

namespace tally {

// Facts about the station that every record carries.
struct StampInfo {
  std::string station;          // station id
  bool clock_synced = true;     // false adds "clock": "unsynced"
};

// A reading from `device`, stamped with the context at the moment it was taken. Readings are most of what tallyd
// writes, so the record comes as `text`, written straight from the fields, whenever every string in it needs no
// escaping (printable ASCII); otherwise as `body`. Both give the same JSON (test_record checks it).
Record stamp_reading(const StampInfo& info, const std::string& device, const Reading& r, const StationContext& ctx);
// The same as `body` always (what stamp_reading falls back to).
Record stamp_reading_json(const StampInfo& info, const std::string& device, const Reading& r, const StationContext& ctx);

// Any record: {"ts", "clock"?, "station", ...fields} + context.
Record make_record(RecordKind kind, std::string topic, const StampInfo& info, wall_time ts, const json& fields,
                   const StationContext& ctx);

// An event record: {"ts","station","event", ...fields} + context.
Record make_event(const StampInfo& info, const std::string& event, wall_time ts, const json& fields,
                  const StationContext& ctx);

// Adds the context fields that are set (batch, recipe, step, step_no / work_order, unit, serial; operator).
void add_context(json& body, const StationContext& ctx);

}  // namespace tally
