#pragma once
// Records: everything that goes into the store-and-forward stream, and their text as published. Stamping (how a
// reading or event becomes a record) is record/stamp.hpp. The buffer assigns `seq`.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "api/input.hpp"

namespace tally {

using json = nlohmann::ordered_json;
using Seq = std::int64_t;

// Stored with each record so that overflow can drop readings and nothing else.
enum class RecordKind : int { reading = 0, scan = 1, unit = 2, event = 3, alarm = 4, batch = 5 };

// "reading", "scan", ... as people read it (tallyctl buffer); "record" for a value no RecordKind has.
inline const char* kind_name(int kind) {
  static const char* const names[] = {"reading", "scan", "unit", "event", "alarm", "batch"};
  return kind >= 0 && kind <= static_cast<int>(RecordKind::batch) ? names[kind] : "record";
}

struct Record {
  RecordKind kind = RecordKind::event;
  std::string topic;  // below the station's base topic, e.g. "readings/kettle", "events"
  json body;          // every payload field except "seq"
  std::string text{};  // or, when not empty, the same already serialised ("{...}"): readings (see stamp_reading)
};

// UTC ISO 8601 with milliseconds: 2026-11-24T10:15:02.123Z
std::string format_ts(wall_time t);

// JSON text that never throws: invalid UTF-8 (a scale's garbage in an error message) is replaced, not fatal.
std::string to_text(const json& j);

// The payload as published: {"seq":N, ...body}. seq goes first so a human reading the stream sees it first.
std::string serialize_with_seq(Seq seq, const json& body);
std::string serialize_with_seq(Seq seq, std::string_view body_text);
std::string serialize_with_seq(Seq seq, const Record& record);

// The record's fields as a json document, whichever form it carries them in.
inline json body_of(const Record& r) { return r.text.empty() ? r.body : json::parse(r.text); }

}  // namespace tally
