// The record path: append, commit (with the max_bytes bound and the recovery from failed commits), acknowledge,
// read. Opening, recovery and the seq reservation are in open.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "buffer/buffer.hpp"
#include "buffer/detail.hpp"
#include "buffer/buffer_error.hpp"

namespace tally {
namespace {

// Deleting rows frees pages only once SQLite merges underfull ones, so overflow deletes an estimate, measures
// again and repeats, a bounded number of times per commit.
constexpr int kOverflowRounds = 16;

}  // namespace

void Buffer::rollback() noexcept {
  // Some errors (SQLITE_FULL, SQLITE_IOERR...) have already rolled the transaction back.
  if (db_->get() != nullptr && sqlite3_get_autocommit(db_->get()) == 0) {
    sqlite3_step(st_->rollback.get());
    sqlite3_reset(st_->rollback.get());
  }
}

Seq Buffer::append(const Record& record) {
  appends_.push_back({next_seq_, record.kind, record.topic, serialize_with_seq(next_seq_, record)});
  appended_bytes_ += appends_.back().payload.size();
  if (appended_bytes_ > kMemoryBound) bound_memory();
  return next_seq_++;
}

// The commits have been failing long enough for the queue to reach kMemoryBound: the oldest readings in memory go,
// down to 90 % of it, like the disk bound; events, scans, units and alarms stay.
void Buffer::bound_memory() {
  if (appended_bytes_ <= kMemoryBound) return;
  const std::size_t target = kMemoryBound - kMemoryBound / 10;
  Overflow dropped = memory_overflow_.value_or(Overflow{});
  std::vector<Pending> kept;
  kept.reserve(appends_.size());
  for (auto& p : appends_) {
    if (appended_bytes_ > target && p.kind == RecordKind::reading) {
      appended_bytes_ -= p.payload.size();
      if (dropped.dropped == 0 || p.seq < dropped.first_seq) dropped.first_seq = p.seq;
      dropped.last_seq = std::max(dropped.last_seq, p.seq);
      ++dropped.dropped;
      ++stats_.dropped;
    } else {
      kept.push_back(std::move(p));
    }
  }
  appends_ = std::move(kept);
  if (dropped.dropped > 0) memory_overflow_ = dropped;
}

std::optional<Overflow> Buffer::take_memory_overflow() { return std::exchange(memory_overflow_, std::nullopt); }

void Buffer::acknowledge(Seq seq) {
  if (seq <= 0 || seq > committed_seq_) return;  // never committed: nothing to delete
  if (acks_.empty()) oldest_ack_ = std::chrono::steady_clock::now();
  acks_.insert(seq);
  if (seq < recent_from_) return;
  const auto it = std::lower_bound(recent_.begin(), recent_.end(), seq,
                                   [](const Recent& r, Seq s) { return r.record.seq < s; });
  if (it != recent_.end() && it->record.seq == seq) it->acknowledged = true;
  // Acknowledgements come in seq order give or take the window: the front goes as soon as it is acknowledged.
  while (!recent_.empty() && recent_.front().acknowledged) {
    recent_bytes_ -= recent_.front().record.payload.size();
    recent_.pop_front();
  }
}

// Just committed: moved into the recent records instead of freed; the oldest unacknowledged ones leave memory
// (and are read from the file when asked for) once kRecentBound is reached.
void Buffer::keep_recent(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    auto& p = appends_[i];
    recent_bytes_ += p.payload.size();
    recent_.push_back({StoredRecord{p.seq, p.kind, std::move(p.topic), std::move(p.payload)}, false});
  }
  while (recent_bytes_ > kRecentBound) {
    const Recent& oldest = recent_.front();
    if (!oldest.acknowledged) recent_from_ = oldest.record.seq + 1;
    recent_bytes_ -= oldest.record.payload.size();
    recent_.pop_front();
  }
}

// Overflow deleted the readings up to `up_to` from the file: they are gone from memory too.
void Buffer::forget_recent_readings(Seq up_to) {
  std::erase_if(recent_, [&](const Recent& r) {
    const bool gone = r.record.kind == RecordKind::reading && r.record.seq <= up_to;
    if (gone) recent_bytes_ -= r.record.payload.size();
    return gone;
  });
}

// One transaction: the oldest `count` queued appends, the lowest `ack_count` acknowledgements and the state documents
// as asked. On success what was written leaves the queues; on failure (rolled back) everything stays queued.
void Buffer::write_chunk(std::size_t count, std::size_t ack_count, bool with_states) {
  if (count > 0) reserve(appends_[count - 1].seq);  // the seqs are reserved before any of them can be published
  std::int64_t deleted = 0;
  st_->begin.run("begin");
  try {
    for (std::size_t i = 0; i < count; ++i) {
      const auto& p = appends_[i];
      // Binding only fails for a payload over SQLite's 1 GB limit; the step then fails on NOT NULL.
      st_->insert.bind(1, p.seq).bind(2, static_cast<std::int64_t>(p.kind)).bind(3, p.topic).bind(4, p.payload);
      st_->insert.run("append");
    }
    auto ack = acks_.begin();
    for (std::size_t i = 0; i < ack_count; ++i, ++ack) {
      st_->remove.bind(1, *ack).run("acknowledge");
      deleted += sqlite3_changes(db_->get());
    }
    if (with_states) write_states();
    // The high-water mark may just have been deleted. A commit that also inserts keeps it in max(seq) (appends are
    // the newest records committed), so only a deletion-only commit writes meta.
    if (deleted > 0 && count == 0) save_high_water(committed_seq_);
    st_->commit.run("commit");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  if (count > 0) committed_seq_ = appends_[count - 1].seq;
  count_ += static_cast<std::int64_t>(count) - deleted;
  stats_.transactions += 1;
  stats_.appended += count;
  stats_.acknowledged += static_cast<std::uint64_t>(deleted);
  for (std::size_t i = 0; i < count; ++i) {
    bytes_since_check_ += appends_[i].payload.size();
    appended_bytes_ -= appends_[i].payload.size();
  }
  keep_recent(count);
  appends_.erase(appends_.begin(), appends_.begin() + static_cast<std::ptrdiff_t>(count));
  acks_.erase(acks_.begin(), std::next(acks_.begin(), static_cast<std::ptrdiff_t>(ack_count)));
  if (with_states) states_.clear();
}

std::optional<Overflow> Buffer::commit(bool flush_acknowledgements) {
  // Deletions ride along with the next commit that writes anyway (the same last leaf page, no extra WAL frame):
  // a transaction of its own only when many are waiting, when the oldest has waited long enough, or on request.
  const bool acks_due = !acks_.empty() && (flush_acknowledgements || !appends_.empty() || !states_.empty() ||
                                           write_failing() || acks_.size() >= kAckBatch ||
                                           std::chrono::steady_clock::now() - oldest_ack_ >= kAckDelay);
  if (appends_.empty() && states_.empty() && !acks_due) return std::nullopt;
  try {
    if (write_failing()) return commit_while_failing();
    try {
      write_chunk(appends_.size(), acks_due ? acks_.size() : 0, true);
    } catch (const buffer_error& e) {
      // One transaction did not fit (the WAL needs room for all of it): small ones, with the reserve lent, may.
      if ((e.sqlite_code & 0xff) != SQLITE_FULL) throw;
      write_error_ = e.what();
      return commit_while_failing();
    }
  } catch (const buffer_error& e) {
    write_error_ = e.what();
    failure_reported_ = true;
    bound_memory();
    throw;
  }
  return after_commit();
}

// After failures (disk full), so that a few free pages are enough to make progress: the WAL is checkpointed into
// the database first (then truncated, giving its space back), then the acknowledgements are deleted and the records
// written in small transactions, oldest first (the state documents with the last), each followed by a checkpoint so
// that the WAL never holds more than one of them. Where even that cannot be written the space reserve is lent
// (space_reserve.hpp) and grown back after the checkpoint. New records borrow it for their WAL frames only: once a
// chunk grew the file into it (the reserve is short) and the database has no free pages left for the next one,
// they wait in memory (bounded) until deletions free pages or the disk has room again.
std::optional<Overflow> Buffer::commit_while_failing() {
  const auto checkpoint = [&] {
    lend_reserve([&] { st_->checkpoint.run("checkpoint"); });
    reserve_.restore(kReserveHeadroom);
  };
  checkpoint();
  while (!acks_.empty()) {
    lend_reserve([&] { write_chunk(0, std::min(kAckChunk, acks_.size()), false); });
    checkpoint();
  }
  while (!appends_.empty() || !states_.empty()) {
    const std::size_t n = std::min(kRetryChunk, appends_.size());
    // The file's free pages are counted only when the reserve is short; a row takes its payload and about 64 bytes
    // of topic, keys and cell overhead.
    const auto no_room_in_file = [&] {
      std::uint64_t chunk_bytes = 0;
      for (std::size_t i = 0; i < n; ++i) chunk_bytes += appends_[i].payload.size() + 64;
      const auto free_pages = static_cast<std::uint64_t>(st_->freelist_count.query_int("freelist count"));
      return free_pages * page_size_ < 2 * chunk_bytes;
    };
    if (reserve_.size() < kReserveBytes && no_room_in_file())
      throw buffer_error(SQLITE_FULL, "database or disk is full (records wait in memory: the space reserve is at " +
                                          std::to_string(reserve_.size()) + " bytes)");
    lend_reserve([&] { write_chunk(n, 0, n == appends_.size()); });
    checkpoint();
  }
  if (std::exchange(failure_reported_, false))
    spdlog::info("buffer {}: writing again (the previous commits failed: {})", options_.path, write_error_);
  write_error_.clear();
  return after_commit();
}

template <class Write>
void Buffer::lend_reserve(Write&& write) {
  try {
    write();
  } catch (const buffer_error& e) {
    const std::uint64_t lent = reserve_.size();
    if (!reserve_.release()) throw;
    spdlog::debug("buffer {}: {}; lending the {} byte space reserve", options_.path, e.what(), lent);
    write();
  }
}

std::optional<Overflow> Buffer::after_commit() {
  // Measuring the file costs two PRAGMAs: do it after every hundredth of the bound written, not every commit.
  if (bytes_since_check_ < std::max<std::uint64_t>(options_.max_bytes / 100, 1)) return std::nullopt;
  bytes_since_check_ = 0;
  reserve_.restore(kReserveHeadroom);
  try {
    return enforce_bound();
  } catch (const buffer_error& e) {
    // The records are safe; the bound is enforced again after the next commit.
    spdlog::error("buffer {}: could not drop readings to stay within {} bytes: {}", options_.path,
                  options_.max_bytes, e.what());
    return std::nullopt;
  }
}

std::optional<Overflow> Buffer::enforce_bound() {
  std::uint64_t used = used_bytes();
  if (used <= options_.max_bytes) {
    warned_full_ = false;
    return std::nullopt;
  }
  const std::uint64_t target = options_.max_bytes - options_.max_bytes / 10;
  Overflow overflow;
  bool readings_left = true;
  st_->begin.run("begin overflow");
  try {
    for (int round = 0; round < kOverflowRounds && used > target; ++round) {
      // Estimated from the average row, plus a tenth: rows differ in size and pages free up late.
      const auto rows_left = static_cast<std::uint64_t>(std::max<std::int64_t>(count_ - overflow.dropped, 1));
      const std::uint64_t row_bytes = std::max<std::uint64_t>(used / rows_left, 1);
      const auto rows = static_cast<std::int64_t>((used - target) / row_bytes * 11 / 10 + 1);
      std::int64_t n = 0;
      Seq first = 0;
      Seq last = 0;
      {
        auto& oldest = st_->oldest_readings;
        sql::Reset reset{oldest};
        oldest.bind(1, rows);
        if (!oldest.step("find oldest readings")) sql::fail(db_->get(), SQLITE_DONE, "find oldest readings");
        n = oldest.int64(0);
        first = oldest.int64(1);
        last = oldest.int64(2);
      }
      if (n == 0) {
        readings_left = false;
        break;
      }
      st_->drop_readings.bind(1, last).run("drop readings");
      if (overflow.dropped == 0) overflow.first_seq = first;
      overflow.last_seq = last;
      overflow.dropped += n;
      used = used_bytes();
    }
    if (overflow.dropped > 0) save_high_water(committed_seq_);
    st_->commit.run("commit overflow");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  if (overflow.dropped > 0) forget_recent_readings(overflow.last_seq);
  count_ -= overflow.dropped;
  stats_.dropped += static_cast<std::uint64_t>(overflow.dropped);
  if (!readings_left && !warned_full_) {
    spdlog::warn("buffer {}: {} bytes in use, above the bound of {}, and no readings left to drop", options_.path,
                 used, options_.max_bytes);
    warned_full_ = true;
  }
  if (overflow.dropped == 0) return std::nullopt;
  return overflow;
}

std::vector<StoredRecord> Buffer::read_recent(Seq after, std::size_t limit) const {
  std::vector<StoredRecord> out;
  auto it = std::upper_bound(recent_.begin(), recent_.end(), after,
                             [](Seq s, const Recent& r) { return s < r.record.seq; });
  for (; it != recent_.end() && out.size() < limit; ++it)
    if (!it->acknowledged) out.push_back(it->record);
  return out;
}

std::vector<StoredRecord> Buffer::read_after(Seq after, std::size_t limit) const {
  if (after >= recent_from_ - 1) return read_recent(after, limit);
  ++file_reads_;
  std::vector<StoredRecord> out;
  auto& s = st_->read_after;
  sql::Reset reset{s};
  s.bind(1, after);
  // Acknowledged records whose deletion is deferred are skipped: ask for that many more rows.
  const std::size_t want = std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max()) -
                                                             acks_.size()) + acks_.size();
  s.bind(2, static_cast<std::int64_t>(want));
  while (out.size() < limit && s.step("read")) {
    if (acks_.count(s.int64(0))) continue;
    out.push_back({s.int64(0), static_cast<RecordKind>(s.int64(1)), s.text(2), s.text(3)});
  }
  return out;
}

// Acknowledged records waiting for their deletion are no longer "buffered".
std::int64_t Buffer::count() const { return std::max<std::int64_t>(count_ - static_cast<std::int64_t>(acks_.size()), 0); }

Seq Buffer::last_committed_seq() const { return committed_seq_; }

std::size_t Buffer::pending() const { return appends_.size() + acks_.size(); }

std::uint64_t Buffer::used_bytes() const {
  const std::int64_t pages =
      st_->page_count.query_int("page count") - st_->freelist_count.query_int("freelist count");
  return static_cast<std::uint64_t>(std::max<std::int64_t>(pages, 0)) * page_size_;
}

void Buffer::put_state(const std::string& key, std::string value) { states_[key] = std::move(value); }

void Buffer::erase_state(const std::string& key) { states_[key] = std::nullopt; }

std::map<std::string, std::string> Buffer::states_with_prefix(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  auto& s = st_->prefix_states;
  {
    sql::Reset reset{s};
    s.bind(1, prefix);
    while (s.step("read states")) out[s.text(0)] = s.text(1);
  }
  for (auto it = states_.lower_bound(prefix); it != states_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    if (it->second) out[it->first] = *it->second;
    else out.erase(it->first);
  }
  return out;
}

std::optional<std::string> Buffer::get_state(const std::string& key) const {
  if (auto it = states_.find(key); it != states_.end()) return it->second;
  auto& s = st_->get_state;
  sql::Reset reset{s};
  s.bind(1, key);
  std::optional<std::string> value;
  if (s.step("read state")) value = s.text(0);
  return value;
}

// Inside a transaction: the state documents queued by put_state().
void Buffer::write_states() {
  for (const auto& [key, value] : states_) {
    if (value) st_->put_state.bind(1, key).bind(2, *value).run("save state");
    else st_->erase_state.bind(1, key).run("erase state");
  }
}

// The seq high-water mark, for when max(seq) of the records no longer holds it.
void Buffer::save_high_water(Seq seq) {
  st_->save_last_seq.bind(1, seq).run("save last seq");
}

void Buffer::mark_clean_shutdown() {
  put_state("shutdown", boot_id_ + " clean");
  commit(true);
}

}  // namespace tally
