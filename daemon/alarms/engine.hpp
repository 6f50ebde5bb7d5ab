#pragma once
// The alarm engine: every rule in force evaluated against every reading, device state and the passing of time.
// Pure, like Production: readings, states and instants come in; transitions (raised, acknowledged, cleared) and a
// new state come out. The station records each transition, publishes the retained B/alarms/<id>, drives outputs and
// notifications, and saves save() in the same buffer transaction as the transition records.
//
// Sources (shared/PRODUCT.md, "Alarms"): the current recipe step (<step>.range with alarm_after_s, <step>.tolerance
// at step completion, <step>.overrun after max_s), [[alarms]] rules (<id>: above/below, for_s, deadband), devices
// (<device>.fault, <device>.offline, <device>.stale after stale_s without a reading), the buffer (buffer.high) and
// system alarms raised by other parts of the daemon (buffer.disk, buffer.corrupt, publish.refused).
//
// Every duration and deadline is on the monotonic clock (`Instant::mono`); the wall clock only stamps `since`. An
// NTP step at first sync therefore neither raises nor hides an alarm.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alarms/rules.hpp"
#include "record/context.hpp"
#include "api/input.hpp"
#include "production/recipe.hpp"
#include "record/record.hpp"

namespace tally {

struct Instant {
  mono_time mono;
  wall_time wall;
  static Instant now() { return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()}; }
};

enum class AlarmState { active, acknowledged };

struct Alarm {
  std::string id;
  std::string kind;               // rule, range, tolerance, overrun, fault, offline, stale, buffer, system
  AlarmState state = AlarmState::active;
  Severity severity = Severity::warning;
  std::string message;
  std::string device;
  std::optional<double> value, limit;
  std::string unit;
  wall_time since{};
  std::string acknowledged_by;
  std::string output;             // held on while active and unacknowledged
  std::string step_key;           // range, overrun: the step run it belongs to ("<batch>#<step_no>")
  std::string batch;              // tolerance: the batch it belongs to
  StationContext context;         // where the station was when it was raised
};

struct AlarmTransition {
  enum class Kind { raised, acknowledged, cleared } kind;
  Alarm alarm;                    // as it is after the transition (cleared: as it was, with the final value)
  std::string reason;             // cleared: why
  wall_time at{};
};

constexpr const char* event_name(AlarmTransition::Kind k) {
  switch (k) {
    case AlarmTransition::Kind::raised: return "alarm.raised";
    case AlarmTransition::Kind::acknowledged: return "alarm.acknowledged";
    case AlarmTransition::Kind::cleared: return "alarm.cleared";
  }
  return "alarm.raised";
}

// A device the engine watches for staleness.
struct WatchedDevice {
  std::string name;
  double stale_s = 0;             // 0: not watched
};

// What a system alarm (raised by another part of the daemon) carries.
struct SystemAlarm {
  std::string id;                 // e.g. "buffer.disk"
  Severity severity = Severity::critical;
  std::string message;
  std::string device;
  std::optional<double> value, limit;
};

class AlarmEngine {
 public:
  using Transitions = std::vector<AlarmTransition>;
  // `context` is the station's production context (stamped on alarms when they are raised); it must outlive this.
  AlarmEngine(const StationContext& context);

  // The rules and devices in force (at start and at every reload). Alarms whose rule or device is gone are cleared.
  Transitions configure(std::vector<AlarmRule> rules, std::vector<WatchedDevice> devices, Instant now);

  Transitions reading(const std::string& device, const Reading& r, Instant now);
  Transitions device_state(const std::string& device, bool online, const std::string& error, Instant now);
  // The step in force after every production change (nullopt: no step). When the key changes, the previous step's
  // range and overrun alarms are cleared ("step ended") and the next step's rules apply from its start; when the
  // batch changes, the tolerance alarms of the previous batch are cleared ("batch ended").
  Transitions step(const std::optional<StepRules>& rules, Instant now);
  // A weigh step completed outside target ± tolerance (amount null: nothing was weighed).
  Transitions tolerance(const RecipeStep& step, const std::string& batch, std::optional<double> amount,
                        const std::string& unit, Instant now);
  // Buffer usage against its bound: buffer.high above 80 %, cleared below 75 %.
  Transitions buffer_usage(std::uint64_t used, std::uint64_t max, Instant now);
  // System alarms raised and cleared by other parts of the daemon. Raising an active one only updates its value.
  Transitions raise(const SystemAlarm& alarm, Instant now);
  Transitions clear(const std::string& id, const std::string& reason, Instant now);
  // alarm.ack: an error text when there is no such active alarm or it is already acknowledged.
  Transitions acknowledge(const std::string& id, const std::string& by, Instant now, std::string& error);

  // Time passing: on-delays (for_s, alarm_after_s), stale devices and step overruns. next_deadline() says when
  // tick() has something to do.
  Transitions tick(Instant now);
  std::optional<mono_time> next_deadline() const;

  const std::map<std::string, Alarm>& alarms() const { return alarms_; }
  // Whether `output` must be held on: an active, unacknowledged alarm names it.
  bool output_wanted(const std::string& output) const;

  std::string save() const;
  // Restores a document written by save(); returns a warning when it could not be read (then no alarm is active).
  std::optional<std::string> restore(const std::string& document);

  static constexpr double buffer_high_ratio = 0.80, buffer_clear_ratio = 0.75;

 private:
  struct Pending {                 // an on-delay running: the condition has held since `since`
    mono_time since;
    double value;
    double limit;
    std::string unit;
  };
  struct DeviceSeen {
    bool online = false;
    std::optional<mono_time> last;  // last reading (or the moment it came online)
  };
  Transitions raise_alarm(Alarm a, Instant now);
  void clear_alarm(Transitions& out, const std::string& id, const std::string& reason, Instant now);
  void evaluate_rule(Transitions& out, const AlarmRule& rule, std::optional<double> value, const std::string& unit,
                     Instant now);
  void evaluate_range(Transitions& out, std::optional<double> value, const std::string& unit, Instant now);
  void check_pending(Transitions& out, Instant now);
  Alarm rule_alarm(const AlarmRule& rule, const Pending& p) const;
  Alarm range_alarm(const Pending& p) const;

  const StationContext& context_;
  std::vector<AlarmRule> rules_;
  std::vector<WatchedDevice> devices_;
  std::map<std::string, Alarm> alarms_;
  std::map<std::string, Pending> pending_;     // rule id or "<step>.range" -> its on-delay
  std::map<std::string, mono_time> clearing_;  // active rule id -> since when its value is back (its off-delay)
  std::map<std::string, DeviceSeen> seen_;
  std::optional<StepRules> step_;
  std::string step_key_;                       // kept across restarts: the same step is not "ended" by a restart
};

}  // namespace tally
