#include "station/commit_cycle.hpp"

#include <spdlog/spdlog.h>

#include "buffer/buffer_error.hpp"

namespace tally {

CommitCycle::CommitCycle(EventLoop& loop, Buffer& buffer, Journal& journal, StationAlarms& alarms)
    : buffer_(buffer),
      journal_(journal),
      alarms_(alarms),
      retry_timer_(loop, [] {}) {}  // waking the loop is enough: the end-of-iteration hook retries the commit

bool CommitCycle::commit() {
  if (failing_ && std::chrono::steady_clock::now() < retry_at_) return false;
  try {
    // Committing the overflow event can itself overflow (pages free up late): every drop gets its event.
    auto overflow = buffer_.commit();
    for (int round = 0; overflow && round < 8; ++round) {
      spdlog::warn("buffer: full; dropped {} oldest readings (seq {}..{})", overflow->dropped, overflow->first_seq,
                   overflow->last_seq);
      journal_.event("buffer.overflow", {{"first_seq", overflow->first_seq},
                                         {"last_seq", overflow->last_seq},
                                         {"dropped", overflow->dropped}});
      overflow = buffer_.commit();
    }
    if (failing_) {
      spdlog::info("buffer: writing again");
      alarms_.clear("buffer.disk", "the buffer is writing again");
      buffer_.commit();  // the clearing event, at once: the disk has room now
    }
    failing_ = false;
    backoff_ = kBackoffMin;
    return true;
  } catch (const buffer_error& e) {
    // Disk full or an I/O error: the records stay queued in memory (bounded) and the commit is retried with
    // back-off; acknowledged deletions go first, alone, as soon as it is retried (Buffer::commit).
    if (!failing_) {
      spdlog::error("buffer: commit failed, keeping {} records in memory and retrying: {}", buffer_.pending(),
                    e.what());
      failing_ = true;
      alarms_.raise(SystemAlarm{"buffer.disk", Severity::critical,
                                std::string("records cannot be written: ") + e.what(), {}, {}, {}});
    } else {
      backoff_ = std::min(backoff_ * 2, kBackoffMax);
    }
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    retry_timer_.arm(backoff_);
    return false;
  }
}

void CommitCycle::report_memory_overflow() {
  if (const auto dropped = buffer_.take_memory_overflow()) {
    spdlog::warn("buffer: cannot write and {} bytes queued in memory; dropped {} oldest readings (seq {}..{})",
                 Buffer::kMemoryBound, dropped->dropped, dropped->first_seq, dropped->last_seq);
    journal_.event("buffer.overflow", {{"first_seq", dropped->first_seq},
                                       {"last_seq", dropped->last_seq},
                                       {"dropped", dropped->dropped},
                                       {"reason", "memory"}});
  }
}

}  // namespace tally
