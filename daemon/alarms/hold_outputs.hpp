#pragma once
// An output named by an alarm rule is held on while any alarm naming it is active and unacknowledged: after each
// transition the output is told what that alarm (as its holder) wants now. Acknowledging silences the buzzer;
// clearing releases it; another alarm on the same output keeps it on through its own hold.
#include "alarms/engine.hpp"
#include "outputs/outputs.hpp"

namespace tally {

inline void hold_outputs(Outputs& outputs, const AlarmTransition& t) {
  const Alarm& a = t.alarm;
  if (a.output.empty() || !outputs.has(a.output)) return;
  outputs.hold(a.output, a.id, t.kind == AlarmTransition::Kind::raised);
}

}  // namespace tally
