#include "record/stamp.hpp"

#include <nlohmann/detail/conversions/to_chars.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace tally {

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
    body["unit_no"] = ctx.unit_no;
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

namespace {

// Written as they are, between quotes: printable ASCII other than '"' and '\\'. Anything else goes the json way.
bool plain(std::string_view s) {
  for (const unsigned char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

void put_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}

void put(std::string& out, std::string_view key, std::string_view value) {
  put_key(out, key);
  out += '"';
  out += value;
  out += '"';
}

void put(std::string& out, std::string_view key, std::int64_t value) {
  put_key(out, key);
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

// The digits nlohmann's serializer writes for a double (its Grisu2 to_chars, "20.0" for 20), so both forms of a
// record read the same; not finite: null, as it does.
void put_number(std::string& out, std::string_view key, double value) {
  put_key(out, key);
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buf[64];
  out.append(buf, nlohmann::detail::to_chars(buf, buf + sizeof buf, value));
}

// stamp_reading's body written directly: the fields of the json path below, in its order. "unit" is always the
// reading's unit of measure; the unit count of discrete mode is the context's "unit_no".
std::optional<std::string> reading_text(const StampInfo& info, const std::string& device, const Reading& r,
                                        const StationContext& ctx) {
  const bool process = ctx.mode == Mode::process;
  for (const std::string* s : {&info.station, &device, &r.quantity, &r.unit, &r.fault, &ctx.operator_id})
    if (!plain(*s)) return std::nullopt;
  if (process ? !(plain(ctx.batch) && plain(ctx.recipe) && plain(ctx.step))
              : !(plain(ctx.work_order) && plain(ctx.serial)))
    return std::nullopt;
  std::string out;
  out.reserve(256);
  out += "{\"ts\":\"";
  out += format_ts(r.ts);
  out += '"';
  if (!info.clock_synced) put(out, "clock", "unsynced");
  put(out, "station", info.station);
  put(out, "device", device);
  put(out, "quantity", r.quantity);
  if (r.fault.empty() && r.value) {
    put_number(out, "value", *r.value);
  } else {
    put_key(out, "value");
    out += "null";
  }
  const bool work_order = !process && !ctx.work_order.empty();
  put(out, "unit", r.unit);
  if (r.stable) {
    put_key(out, "stable");
    out += *r.stable ? "true" : "false";
  }
  if (!r.fault.empty()) put(out, "fault", r.fault);
  if (process) {
    if (!ctx.batch.empty()) put(out, "batch", ctx.batch);
    if (!ctx.recipe.empty()) put(out, "recipe", ctx.recipe);
    if (!ctx.step.empty()) {
      put(out, "step", ctx.step);
      put(out, "step_no", ctx.step_no);
    }
  } else if (work_order) {
    put(out, "work_order", ctx.work_order);
    put(out, "unit_no", ctx.unit_no);
    if (!ctx.serial.empty()) put(out, "serial", ctx.serial);
  }
  if (!ctx.operator_id.empty()) put(out, "operator", ctx.operator_id);
  out += '}';
  return out;
}

}  // namespace

Record stamp_reading_json(const StampInfo& info, const std::string& device, const Reading& r, const StationContext& ctx) {
  Record rec{RecordKind::reading, "readings/" + device, header(info, r.ts), {}};
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

Record stamp_reading(const StampInfo& info, const std::string& device, const Reading& r, const StationContext& ctx) {
  if (auto text = reading_text(info, device, r, ctx))
    return Record{RecordKind::reading, "readings/" + device, {}, std::move(*text)};
  return stamp_reading_json(info, device, r, ctx);
}

Record make_record(RecordKind kind, std::string topic, const StampInfo& info, wall_time ts, const json& fields,
                   const StationContext& ctx) {
  Record rec{kind, std::move(topic), header(info, ts), {}};
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

}  // namespace tally
