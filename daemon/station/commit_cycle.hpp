#pragma once
// The commit at the end of every event-loop iteration: one SQLite transaction for everything appended and
// acknowledged in the iteration, a buffer.overflow event for every drop it had to make, and, while commits fail (a
// full disk, an I/O error), the records kept in memory (bounded), the buffer.disk alarm, and retries with back-off
// (not on every wake-up: each attempt writes, and a full disk must not cost a core). buffer.high is not here: it is
// the alarm engine's own, checked every 10 s against max_mb (StationAlarms::check_buffer_usage).
#include <chrono>

#include "buffer/buffer.hpp"
#include "loop/event_loop.hpp"
#include "station/journal.hpp"
#include "station/station_alarms.hpp"

namespace tally {

class CommitCycle {
 public:
  CommitCycle(EventLoop& loop, Buffer& buffer, Journal& journal, StationAlarms& alarms);

  // Commits when due. True when everything queued was committed now: what waits for a commit (command replies,
  // B/batches/last) may go.
  bool commit();
  // Records dropped from memory while commits fail (Buffer::kMemoryBound): a buffer.overflow event.
  void report_memory_overflow();
  bool failing() const { return failing_; }

  static constexpr std::chrono::milliseconds kBackoffMin{250}, kBackoffMax{4000};

 private:
  Buffer& buffer_;
  Journal& journal_;
  StationAlarms& alarms_;
  Timer retry_timer_;
  bool failing_ = false;
  std::chrono::milliseconds backoff_ = kBackoffMin;
  std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace tally
