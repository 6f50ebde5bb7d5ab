#pragma once
// Records: everything that goes into the store-and-forward stream. Stamping is pure: the same inputs always give
// the same record, so it is tested without a clock, a broker or a database. The buffer assigns `seq`.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "context.hpp"
#include "input.hpp"

namespace tally {

using json = nlohmann::ordered_json;
using Seq = std::int64_t;

// Stored with each record so that overflow can drop readings and nothing else.
enum class RecordKind : int { reading = 0, scan = 1, unit = 2, event = 3, alarm = 4, batch = 5 };

struct Record {
  RecordKind kind = RecordKind::event;
  std::string topic;  // below the station's base topic, e.g. "readings/kettle", "events"
  json body;          // every payload field except "seq"
  std::string text{};  // or, when not empty, the same already serialised ("{...}"): readings (see stamp_reading)
};

// Facts about the station that every record carries.
struct StampInfo {
  std::string station;          // station id
  bool clock_synced = true;     // false adds "clock": "unsynced"
};

// UTC ISO 8601 with milliseconds: 2026-11-24T10:15:02.123Z
std::string format_ts(wall_time t);

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

// JSON text that never throws: invalid UTF-8 (a scale's garbage in an error message) is replaced, not fatal.
std::string to_text(const json& j);

// The payload as published: {"seq":N, ...body}. seq goes first so a human reading the stream sees it first.
std::string serialize_with_seq(Seq seq, const json& body);
std::string serialize_with_seq(Seq seq, std::string_view body_text);
std::string serialize_with_seq(Seq seq, const Record& record);

// The record's fields as a json document, whichever form it carries them in.
inline json body_of(const Record& r) { return r.text.empty() ? r.body : json::parse(r.text); }

}  // namespace tally
