#include "record.hpp"

#include <chrono>
#include <cstdio>

namespace tally {

std::string format_ts(wall_time t) {
  using namespace std::chrono;
  // Calendar arithmetic on 64-bit milliseconds, not gmtime_r: Debian 12's armhf time_t is 32 bits and would wrap in
  // 2038. floor<days> also keeps times before 1970 (an unsynchronised Pi can be anywhere) correct.
  const auto ms = time_point_cast<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss time{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  return buf;
}

void add_context(json& body, const StationContext& ctx) {
  if (ctx.mode == Mode::process) {
    if (!ctx.batch.empty()) body["batch"] = ctx.batch;
    if (!ctx.recipe.empty()) body["recipe"] = ctx.recipe;
    if (!ctx.step.empty()) {
      body["step"] = ctx.step;
      body["step_no"] = ctx.step_no;
    }
  } else if (!ctx.work_order.empty()) {
    body["work_order"] = ctx.work_order;
    body["unit"] = ctx.unit;
    if (!ctx.serial.empty()) body["serial"] = ctx.serial;
  }
  if (!ctx.operator_id.empty()) body["operator"] = ctx.operator_id;
}

namespace {
json header(const StampInfo& info, wall_time ts) {
  json body;
  body["ts"] = format_ts(ts);
  if (!info.clock_synced) body["clock"] = "unsynced";
  body["station"] = info.station;
  return body;
}
}  // namespace

Record stamp_reading(const StampInfo& info, const std::string& device, const Reading& r, const StationContext& ctx) {
  Record rec{RecordKind::reading, "readings/" + device, header(info, r.ts)};
  json& b = rec.body;
  b["device"] = device;
  b["quantity"] = r.quantity;
  if (r.fault.empty() && r.value) {
    b["value"] = *r.value;
  } else {
    b["value"] = nullptr;
  }
  b["unit"] = r.unit;
  if (r.stable) b["stable"] = *r.stable;
  if (!r.fault.empty()) b["fault"] = r.fault;
  add_context(b, ctx);
  return rec;
}

Record make_record(RecordKind kind, std::string topic, const StampInfo& info, wall_time ts, const json& fields,
                   const StationContext& ctx) {
  Record rec{kind, std::move(topic), header(info, ts)};
  for (const auto& [key, value] : fields.items()) rec.body[key] = value;
  add_context(rec.body, ctx);
  return rec;
}

Record make_event(const StampInfo& info, const std::string& event, wall_time ts, const json& fields,
                  const StationContext& ctx) {
  json all{{"event", event}};
  all.update(fields);
  return make_record(RecordKind::event, "events", info, ts, all, ctx);
}

std::string to_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string serialize_with_seq(Seq seq, const json& body) {
  std::string rest = to_text(body);
  std::string out = "{\"seq\":" + std::to_string(seq);
  if (rest.size() > 2) {  // "{...}" -> splice the fields after seq
    out += ',';
    out.append(rest, 1, std::string::npos);
  } else {
    out += '}';
  }
  return out;
}

}  // namespace tally
