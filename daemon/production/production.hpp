#pragma once
// The station's production context as a state machine: what the station is making right now (a batch following a
// recipe, or a work order counting units), driven by commands and readings. Pure: commands, readings and the time
// come in; records (events, units, batch records) and a new state come out. The station appends the records and
// saves save() in the same buffer transaction, so a restart or a power cut resumes exactly where the records say.
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "record/context.hpp"
#include "production/recipe.hpp"
#include "record/stamp.hpp"

namespace tally {

struct Outcome {
  bool ok = true;
  std::string error;             // when !ok: what is wrong, for the reply
  json reply = json::object();   // extra reply fields when ok
  std::vector<Record> records;   // to append, in order
  // Steps that ended in this outcome (the step's part of the batch record), for the alarm engine: a weigh step
  // outside its tolerance raises <step>.tolerance.
  struct StepEnd {
    RecipeStep step;
    std::string batch;
    json record;
  };
  std::vector<StepEnd> steps_ended;
};

// A step's targets as published (step.started events, B/context): step, kind, device, target/tolerance or
// min/max/hold_s, max_s.
json step_targets(const RecipeStep& s);

class Production {
 public:
  Production(Mode mode, int downtime_s, std::vector<Recipe> recipes, const StampInfo& stamp);

  // Durations and deadlines (hold time, step and batch durations, downtime) run on this monotonic clock, never on
  // the wall clock: an NTP step at first sync changes timestamps only. `boot_id` tells restore() whether saved
  // monotonic instants are still comparable (same boot) or must be re-anchored (time while down is not counted).
  using MonoClock = std::function<mono_time()>;
  void set_clock(MonoClock now, std::string boot_id);

  // Restores a document written by save(); a document for the other mode or one that cannot be read is ignored
  // (returned as a warning). The running batch's recipe is not in the document (it is rewritten on every step; a
  // recipe of many steps made it megabytes): `recipe_snapshot` is the copy take_recipe_row() handed over when the
  // batch started, else the configured recipe of the same id is used.
  std::optional<std::string> restore(const std::string& document, const std::string* recipe_snapshot = nullptr);
  std::string save() const;
  // The recipe a batch started with, once per batch (and once after restoring an older document that embedded
  // it): production/store.hpp writes it as a row of its own.
  std::optional<std::string> take_recipe_row() { return std::exchange(recipe_row_, std::nullopt); }
  // The active work order's serials (serial -> unit number, to refuse a serial scanned twice) are not in save():
  // writing the whole set on every unit costs O(n) per unit. Each serial is a state row of its own instead
  // (production/store.hpp writes them). take_serial_rows() hands over, in order, the rows to write (`unit` set) or to
  // erase (`unit` empty) since the last call: the added serial after a unit.add, every serial of the work order
  // after work_order.end (once per work order), and after restore() the serials of an older document that still
  // carried the set (written as rows from then on).
  struct SerialRow {
    std::string serial;
    std::optional<std::int64_t> unit;  // nullopt: erase the row
  };
  std::vector<SerialRow> take_serial_rows();
  bool serial_rows_pending() const { return !serial_rows_.empty() || recipe_row_.has_value(); }
  // After restore(): the rows read back. With no work order active (the context was ended, or could not be
  // restored) they are stale and are queued for erasing.
  void restore_serials(const std::map<std::string, std::int64_t>& serials);
  void set_recipes(std::vector<Recipe> recipes) { recipes_ = std::move(recipes); }

  const StationContext& context() const { return ctx_; }
  // The retained B/context payload: the context, the mode, and in process mode the current step's targets.
  json context_payload() const;

  // A production command (batch.*, step.next, lot.record, work_order.*, unit.*, operator.set). `source` says
  // where it came from ("mqtt", "scan", "gpio", ...). A refused command changes nothing.
  Outcome handle(const std::string& cmd, const json& args, const std::string& source, wall_time now);
  // The production commands: the one table of them (production.cpp), also read by the scan-rule checks.
  struct Command {
    std::string_view name;
    std::optional<Mode> mode;  // the mode it belongs to; none = both
    std::string_view takes;    // the arguments it takes, space-separated: any other is refused, never ignored
    Outcome (*run)(Production&, const json& args, const std::string& source, wall_time now);
    bool takes_argument(std::string_view key) const;
  };
  static std::span<const Command> commands();
  static const Command* find_command(std::string_view cmd);
  static bool handles(std::string_view cmd) { return find_command(cmd) != nullptr; }
  // True while the current step is a weigh step (an unmatched scan is then an ingredient lot).
  bool weighing() const;

  // A reading stamped with the current context: weigh steps keep the last stable weight of their device, hold
  // steps the time in range and min/mean/max.
  // Returns true when the reading changed the state (so it is worth saving).
  bool observe(const std::string& device, const Reading& r);

  // The step's device went offline: time until its next reading is not known to be in range.
  void device_offline(const std::string& device);

  // Time passing (downtime). next_deadline() (monotonic) says when tick() has something to do.
  std::vector<Record> tick(wall_time now);
  std::optional<mono_time> next_deadline() const;

  // The recipe step in force, for the alarm engine; nullopt when no step runs.
  std::optional<StepRules> step_rules() const;
  // An alarm raised while the current step runs: listed with the step in the batch record.
  void note_alarm(const json& entry);

 private:

  struct StepRun {
    wall_time started{};
    mono_time started_mono{};
    std::optional<double> last_stable;  // weigh: the last reading the scale called stable
    std::optional<double> last_value;   // weigh: the last reading at all (scales that never say "stable")
    std::string unit;
    std::vector<std::string> lots;
    // hold
    std::optional<double> min, max;
    double sum = 0;
    long count = 0;
    double in_range_s = 0;
    int excursions = 0;
    std::optional<mono_time> last_mono; // the previous reading of the step's device (monotonic)
    bool last_in_range = false;
    json alarms = json::array();        // alarms raised during the step
  };
  struct Batch {
    std::string id;
    Recipe recipe;               // a copy: reloading the config does not change a running batch
    wall_time started{};
    mono_time started_mono{};
    std::size_t step = 0;        // index of the current step
    json completed = json::array();
    StepRun run;
  };
  struct WorkOrder {
    std::string id;
    std::optional<std::int64_t> target;
    wall_time started{};
    std::int64_t units = 0, rejected = 0;
    std::map<std::string, std::int64_t> serials;  // serial -> unit number
    bool latest_rejected = false;
    wall_time last_activity{};               // shown as downtime's "since"
    std::optional<wall_time> downtime_since;
    mono_time started_mono{}, last_activity_mono{}, downtime_since_mono{};
    std::string latest_serial;  // the latest unit's serial ("" when it had none), for the context
  };

  Outcome batch_start(const json& args, wall_time now);
  Outcome step_next(wall_time now);
  Outcome batch_end(const json& args, wall_time now);
  Outcome lot_record(const json& args, wall_time now);
  Outcome work_order_start(const json& args, wall_time now);
  Outcome work_order_end(wall_time now);
  Outcome unit_add(const json& args, const std::string& source, wall_time now);
  Outcome unit_reject(const json& args, const std::string& source, wall_time now);
  Outcome operator_set(const json& args, wall_time now);

  void start_step(Outcome& out, wall_time now);
  json complete_step(wall_time now);  // the step's part of the batch record
  void end_batch(Outcome& out, const std::string& outcome, const std::string& note, wall_time now);
  void end_downtime(std::vector<Record>& out, wall_time now);
  void sync_context();
  Record event(const std::string& name, const json& fields, wall_time ts) const;

  mono_time mono_now() const { return mono_(); }

  Mode mode_;
  MonoClock mono_;
  std::string boot_id_;
  int downtime_s_;
  std::vector<Recipe> recipes_;
  const StampInfo& stamp_;
  StationContext ctx_;
  std::optional<Batch> batch_;
  std::optional<WorkOrder> wo_;
  Recipe restore_recipe(const json& saved, const std::string* snapshot);
  std::vector<SerialRow> serial_rows_;  // not yet handed over by take_serial_rows()
  std::optional<std::string> recipe_row_;  // not yet handed over by take_recipe_row()
};

}  // namespace tally
