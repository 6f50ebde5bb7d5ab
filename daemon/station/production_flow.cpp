#include "station/production_flow.hpp"

namespace tally {

ProductionFlow::ProductionFlow(EventLoop& loop, Production& production, Journal& journal, SavedContext& saved_context,
                               StationAlarms& alarms, RetainedState& retained)
    : production_(production),
      journal_(journal),
      saved_context_(saved_context),
      alarms_(alarms),
      retained_(retained),
      timer_(loop, [this] {
        Outcome o;
        o.records = production_.tick(std::chrono::system_clock::now());
        apply(o);
      }) {}

Outcome ProductionFlow::run(const std::string& cmd, const json& args, const std::string& source, wall_time ts) {
  Outcome o = production_.handle(cmd, args, source, ts);
  apply(o);
  return o;
}

void ProductionFlow::apply(const Outcome& outcome) {
  for (const auto& r : outcome.records) {
    const Seq seq = journal_.append(r);
    // B/batches/last: the record as B/batches carries it.
    if (r.kind == RecordKind::batch) retained_.batch_ended(serialize_with_seq(seq, r.body));
  }
  if (!outcome.records.empty()) saved_context_.save();
  alarms_.production_changed(outcome);
  retained_.publish_context();
  arm_timer();
}

void ProductionFlow::arm_timer() {
  const auto deadline = production_.next_deadline();
  if (!deadline) return timer_.disarm();
  // A monotonic deadline: an NTP step neither starts nor postpones a downtime.
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  timer_.arm(std::max(wait, std::chrono::milliseconds(1)));
}

}  // namespace tally
