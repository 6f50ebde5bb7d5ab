// The production state machine: commands, the context and what both modes share. Process mode is in batch.cpp,
// discrete mode in work_order.cpp, persistence in state.cpp.
#include <cstdio>

#include "production/detail.hpp"

namespace tally {

std::string production_detail::text_problem(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  char hex[16];
  while (p < end) {
    const unsigned char c = *p;
    std::uint32_t cp = 0;
    int extra = 0;
    if (c < 0x80) cp = c;
    else if (c >= 0xc2 && c <= 0xdf) cp = c & 0x1f, extra = 1;
    else if (c >= 0xe0 && c <= 0xef) cp = c & 0x0f, extra = 2;
    else if (c >= 0xf0 && c <= 0xf4) cp = c & 0x07, extra = 3;
    else return "is not valid UTF-8";
    if (end - p <= extra) return "is not valid UTF-8";
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return "is not valid UTF-8";
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629, section 3).
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return "is not valid UTF-8";
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      return std::string("contains a control character (") + hex + ")";
    }
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
        cp == 0x061c) {
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      return std::string("contains a bidirectional control (") + hex + ") that would change how it reads";
    }
    p += extra + 1;
  }
  return {};
}

using namespace production_detail;

json step_targets(const RecipeStep& s) {
  json t{{"step", s.name}, {"kind", to_string(s.kind)}};
  if (!s.device.empty()) t["device"] = s.device;
  if (s.kind == StepKind::weigh) {
    t["target"] = s.target;
    t["tolerance"] = s.tolerance;
  } else if (s.kind == StepKind::hold) {
    t["min"] = s.min;
    t["max"] = s.max;
    t["hold_s"] = s.hold_s;
  }
  if (s.max_s) t["max_s"] = *s.max_s;
  return t;
}

Production::Production(Mode mode, int downtime_s, std::vector<Recipe> recipes, const StampInfo& stamp)
    : mode_(mode),
      mono_([] { return std::chrono::steady_clock::now(); }),
      boot_id_(current_boot_id()),
      downtime_s_(downtime_s),
      recipes_(std::move(recipes)),
      stamp_(stamp) {
  ctx_.mode = mode;
}

void Production::set_clock(MonoClock now, std::string boot_id) {
  mono_ = std::move(now);
  boot_id_ = std::move(boot_id);
}

std::optional<StepRules> Production::step_rules() const {
  if (!batch_ || batch_->step >= batch_->recipe.steps.size()) return std::nullopt;
  return StepRules{batch_->id + "#" + std::to_string(batch_->step + 1), batch_->id, batch_->recipe.steps[batch_->step],
                   batch_->run.started_mono};
}

void Production::note_alarm(const json& entry) {
  if (batch_ && batch_->step < batch_->recipe.steps.size()) batch_->run.alarms.push_back(entry);
}

// The production commands: name, the mode they belong to, and what runs them. The one list of them.
std::span<const Production::Command> Production::commands() {
  using P = Production;
  static const Command table[] = {
      {"batch.start", Mode::process, "batch recipe", [](P& p, const json& a, const std::string&, wall_time t) { return p.batch_start(a, t); }},
      {"step.next", Mode::process, "", [](P& p, const json&, const std::string&, wall_time t) { return p.step_next(t); }},
      {"batch.end", Mode::process, "outcome note", [](P& p, const json& a, const std::string&, wall_time t) { return p.batch_end(a, t); }},
      {"lot.record", Mode::process, "lot", [](P& p, const json& a, const std::string&, wall_time t) { return p.lot_record(a, t); }},
      {"work_order.start", Mode::discrete, "work_order target",
       [](P& p, const json& a, const std::string&, wall_time t) { return p.work_order_start(a, t); }},
      {"work_order.end", Mode::discrete, "", [](P& p, const json&, const std::string&, wall_time t) { return p.work_order_end(t); }},
      {"unit.add", Mode::discrete, "serial", [](P& p, const json& a, const std::string& s, wall_time t) { return p.unit_add(a, s, t); }},
      {"unit.reject", Mode::discrete, "reason",
       [](P& p, const json& a, const std::string& s, wall_time t) { return p.unit_reject(a, s, t); }},
      {"operator.set", std::nullopt, "operator", [](P& p, const json& a, const std::string&, wall_time t) { return p.operator_set(a, t); }},
  };
  return table;
}

bool Production::Command::takes_argument(std::string_view key) const {
  for (std::string_view rest = takes; !rest.empty();) {
    const auto space = rest.find(' ');
    if (rest.substr(0, space) == key) return true;
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  return false;
}

const Production::Command* Production::find_command(std::string_view cmd) {
  for (const auto& c : commands())
    if (c.name == cmd) return &c;
  return nullptr;
}

bool Production::weighing() const {
  return batch_ && batch_->step < batch_->recipe.steps.size() &&
         batch_->recipe.steps[batch_->step].kind == StepKind::weigh;
}

Record Production::event(const std::string& name, const json& fields, wall_time ts) const {
  return make_event(stamp_, name, ts, fields, ctx_);
}

void Production::sync_context() {
  const std::string op = ctx_.operator_id;
  ctx_ = StationContext{};
  ctx_.mode = mode_;
  ctx_.operator_id = op;
  if (batch_) {
    ctx_.batch = batch_->id;
    ctx_.recipe = batch_->recipe.id;
    if (batch_->step < batch_->recipe.steps.size()) {
      ctx_.step = batch_->recipe.steps[batch_->step].name;
      ctx_.step_no = static_cast<int>(batch_->step) + 1;
    }
  }
  if (wo_) {
    ctx_.work_order = wo_->id;
    ctx_.unit_no = wo_->units;
    ctx_.serial = wo_->latest_serial;
  }
}

Outcome Production::handle(const std::string& cmd, const json& args, const std::string& source, wall_time now) {
  const Command* c = find_command(cmd);
  if (!c) return refused("unknown command \"" + cmd + "\"");
  if (args.is_object())
    for (const auto& [key, value] : args.items())
      if (!c->takes_argument(key))
        return refused("unknown argument \"" + key + "\" for " + cmd + " (" +
                       (c->takes.empty() ? std::string("it takes none") : "it takes: " + std::string(c->takes)) + ")");
  if (c->mode == Mode::process && mode_ != Mode::process)
    return refused("the station is in discrete mode; " + cmd + " is for process mode");
  if (c->mode == Mode::discrete && mode_ != Mode::discrete)
    return refused("the station is in process mode; " + cmd + " is for discrete mode");
  return c->run(*this, args, source, now);
}

// ---- both modes

Outcome Production::operator_set(const json& args, wall_time now) {
  std::string error;
  const auto op = text(args, "operator", error);
  if (!error.empty()) return refused(error);
  if (!op) return refused("operator.set needs \"operator\"");
  const std::string previous = ctx_.operator_id;
  ctx_.operator_id = *op;
  Outcome out;
  json fields = json::object();
  if (!previous.empty()) fields["previous"] = previous;
  out.records.push_back(event("operator.changed", fields, now));
  out.reply = {{"operator", *op}};
  return out;
}

json Production::context_payload() const {
  json c{{"mode", mode_ == Mode::process ? "process" : "discrete"}};
  add_context(c, ctx_);
  if (batch_ && batch_->step < batch_->recipe.steps.size()) {
    c["steps"] = batch_->recipe.steps.size();
    c["targets"] = step_targets(batch_->recipe.steps[batch_->step]);
    c["step_started"] = format_ts(batch_->run.started);
  }
  if (wo_) {
    c["good"] = wo_->units - wo_->rejected;
    c["rejected"] = wo_->rejected;
    c["work_order_started"] = format_ts(wo_->started);  // a viewer's units per hour (docs/web.md)
    if (wo_->target) c["target"] = *wo_->target;
    if (wo_->downtime_since) c["downtime_since"] = format_ts(*wo_->downtime_since);
  }
  return c;
}

}  // namespace tally
