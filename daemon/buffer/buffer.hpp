#pragma once
// The store-and-forward buffer: an SQLite database in WAL mode that holds every record from the moment it is
// committed until the broker has acknowledged it. buffer.cpp: the record path (append, commit, acknowledge, read,
// the max_bytes bound); open.cpp: opening, the seq reservation file, recovery and salvage of a damaged file.
//
// - `seq` is per station, starts at 1, goes up by exactly one per record and is never reused, also across restarts,
//   after every record was acknowledged and deleted (the high-water mark is kept in a `meta` table), and after the
//   database is damaged or lost: seqs are RESERVED in blocks of kSeqBlock in a small file beside the database,
//   "<path>.seq", written atomically (temporary file, fsync, rename, fsync of the directory) before a record with a
//   seq above the reservation is committed. A new or damaged database continues above it.
// - Appends and acknowledgements are queued in memory and written by commit() in ONE transaction: the daemon calls
//   commit() once per event-loop iteration, so a burst of readings costs one transaction, not one per reading.
// - Bounded by max_bytes: when the records in the database take more, the oldest READINGS are deleted (never events,
//   scans, units, alarms or batch records), down to 90 % of the bound, and commit() reports what it dropped so the
//   caller can record a buffer.overflow event.
// - A file that is not a database or fails SQLite's quick_check is moved aside to "<path>.corrupt-<UTC time>" (with
//   its -wal and -shm files), a new database is started, what SQLite can still read of it (records and state
//   documents) is copied into the new one, and recovered() says what was saved and which seqs could not be. A
//   database found empty or missing while the reservation file says seqs were given out counts as damaged too.
// - A failed commit (disk full, I/O error) rolls back and keeps the queued records in memory: nothing committed is
//   lost while the disk is full. While commits fail (write_failing()), the next commit checkpoints the WAL, then
//   deletes the acknowledged records and writes the queued ones in small transactions, oldest first, each followed by
//   a checkpoint, so that a few free pages are enough to make progress (commit_while_failing()); the records queued in memory are bounded by kMemoryBound bytes, beyond
//   which the oldest READINGS in memory are dropped and reported like the disk bound. The caller paces the retries.
// - "<path>.reserve" holds kReserveBytes of disk space, lent to SQLite when the disk is full so that the WAL can be
//   checkpointed and delivered records deleted (space_reserve.hpp says why that can otherwise wedge for good).
// - Just-committed records stay in memory too (up to kRecentBound bytes, until acknowledged), so the publisher,
//   which normally asks for exactly those, is served without reading them back from SQLite. Only the backlog (after
//   a reconnect, a restart, or a broker slower than the cache is long) is read from the file.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "record/record.hpp"
#include "buffer/space_reserve.hpp"

namespace tally {

struct BufferOptions {
  std::string path;
  std::uint64_t max_bytes = 256ull << 20;
  bool sync_full = false;  // SQLite synchronous=FULL instead of NORMAL
};

struct StoredRecord {
  Seq seq = 0;
  RecordKind kind = RecordKind::event;
  std::string topic;
  std::string payload;  // the JSON as published, "seq" included
};

struct Overflow {
  Seq first_seq = 0;      // lowest dropped seq
  Seq last_seq = 0;       // highest dropped seq
  std::int64_t dropped = 0;
};

struct SeqRange {
  Seq first_seq = 0;
  Seq last_seq = 0;
  bool operator==(const SeqRange&) const = default;
};

struct Recovery {
  std::string moved_to;   // where the damaged file now is ("" when there was no file to move: it was missing)
  std::string reason;     // SQLite's words, or what was wrong
  bool seq_recovered = false;  // the high-water mark is known (from the reservation file or the damaged file)
  std::int64_t salvaged = 0;   // records copied from the damaged file into the new one
  std::vector<std::string> salvaged_states;  // state documents copied (e.g. "context")
  // Seqs that may have held records not yet delivered and could not be read. Acknowledged (delivered) records
  // leave gaps too and cannot be told apart, so this is an upper bound on what was lost.
  std::vector<SeqRange> unsaved;
};

// Seqs skipped at open because the previous run ended in a power cut (see Buffer::seq_skipped).
struct SeqSkip {
  Seq first_seq = 0;
  Seq last_seq = 0;
};

struct BufferStats {
  std::uint64_t transactions = 0;   // commits that wrote something
  std::uint64_t appended = 0;       // records committed since open
  std::uint64_t acknowledged = 0;   // records deleted after acknowledgement since open
  std::uint64_t dropped = 0;        // readings dropped by overflow since open
};

namespace sql {
class Connection;
}
struct BufferStatements;

class Buffer {
 public:
  explicit Buffer(BufferOptions options);  // throws buffer_error when the file cannot be created at all
  ~Buffer();                               // closes; does NOT commit (the owner commits explicitly)
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Assigns the next seq, serialises the record with it and queues it for the next commit.
  Seq append(const Record& record);
  // Queues the deletion of an acknowledged record (unknown or already deleted seqs are ignored).
  void acknowledge(Seq seq);
  // Writes everything queued in one transaction, then enforces max_bytes (checked after every hundredth of the
  // bound written). Returns what overflow dropped, if anything. Throws buffer_error (after rolling back, keeping the
  // queue) when the database cannot be written. Acknowledgements alone wait for the next commit that writes anyway,
  // at most kAckDelay or kAckBatch of them, unless `flush_acknowledgements` (at shutdown): an acknowledged record
  // still in the file is never read again, only deleted later; after a crash it may be sent a second time.
  std::optional<Overflow> commit(bool flush_acknowledgements = false);
  // While commits fail: true, with SQLite's words for the last failure (e.g. "database or disk is full").
  bool write_failing() const { return !write_error_.empty(); }
  const std::string& write_error() const { return write_error_; }
  // Readings dropped from the in-memory queue since the last call (commits failing for long): for a
  // buffer.overflow event. Checked after append()s and after a failed commit().
  std::optional<Overflow> take_memory_overflow();
  static constexpr std::size_t kMemoryBound = 2u << 20;  // bytes of queued payloads before readings are dropped
  static constexpr std::size_t kRetryChunk = 64;         // records per transaction while recovering from failures
  static constexpr std::size_t kAckChunk = 256;          // deletions per transaction while recovering
  // Disk space held in "<path>.reserve" for the deletions and checkpoints that free space (space_reserve.hpp): more
  // than the WAL holds between two automatic checkpoints (1,000 pages of 1 KiB).
  static constexpr std::uint64_t kReserveBytes = 1u << 20;
  static constexpr std::uint64_t kReserveHeadroom = 64u << 10;  // left free when the reserve grows back
  static constexpr auto kAckDelay = std::chrono::seconds(10);
  static constexpr std::size_t kAckBatch = 1000;

  // Small named documents (the production context) written in the same transaction as the records queued with
  // them: a state change and the events that describe it are committed together or not at all.
  void put_state(const std::string& key, std::string value);
  std::optional<std::string> get_state(const std::string& key) const;  // the queued value, else the committed one
  void erase_state(const std::string& key);  // queued like put_state
  // Every state document whose key starts with `prefix` (queued changes applied), by key.
  std::map<std::string, std::string> states_with_prefix(const std::string& prefix) const;

  // Committed and not acknowledged records with seq > after, oldest first, at most `limit`: from memory when they
  // are all still there (the just-committed ones), else from the file.
  std::vector<StoredRecord> read_after(Seq after, std::size_t limit) const;
  static constexpr std::size_t kRecentBound = 512u << 10;  // bytes of committed records kept in memory
  std::uint64_t file_reads() const { return file_reads_; }  // read_after calls that had to read the file

  std::int64_t count() const;          // committed records held and not yet acknowledged
  Seq last_committed_seq() const;      // highest seq written to the database (0 when none ever)
  std::size_t pending() const;         // appends + acknowledgements queued and not yet committed
  std::uint64_t used_bytes() const;    // bytes the records take in the database (pages in use)
  const std::optional<Recovery>& recovered() const { return recovery_; }
  // With synchronous=NORMAL a power cut may roll back the last commits, which were already published: their seqs
  // must not be given to new records. The buffer notes at open that it is running (with the kernel's boot id) and
  // at mark_clean_shutdown() that it stopped cleanly. Opened after an unclean end in an EARLIER boot (a power cut
  // or a reset, not a crashed process, whose commits the page cache kept), seq jumps ahead past anything that
  // could have been published and lost, and seq_skipped() names the range for a `buffer.seq_skipped` event.
  const std::optional<SeqSkip>& seq_skipped() const { return seq_skip_; }
  void mark_clean_shutdown();  // commits everything queued, acknowledged deletions included
  static constexpr Seq kPowerLossMargin = 100'000;  // more than a WAL between two checkpoints can hold
  static constexpr Seq kSeqBlock = 10'000;  // seqs reserved per write of "<path>.seq" (one fsync per block)
  Seq reserved_seq() const { return reserved_; }  // highest seq the reservation file covers
  const BufferStats& stats() const { return stats_; }
  const std::string& path() const { return options_.path; }

 private:
  // open.cpp
  void open_database();
  void open_or_recover();
  void recover(const std::string& reason);
  void check_previous_shutdown();
  void reserve(Seq seq);  // writes "<path>.seq" covering `seq` when it does not yet
  void close_database() noexcept;
  // buffer.cpp
  void write_states();
  void save_high_water(Seq seq);
  void rollback() noexcept;
  void write_chunk(std::size_t count, std::size_t ack_count, bool with_states);
  template <class Write>
  void lend_reserve(Write&& write);  // write(); when it fails and a reserve is held: release it, write() again
  std::optional<Overflow> commit_while_failing();
  void bound_memory();
  std::optional<Overflow> enforce_bound();
  std::optional<Overflow> after_commit();
  void keep_recent(std::size_t count);  // the oldest `count` appends, just committed
  void forget_recent_readings(Seq up_to);
  std::vector<StoredRecord> read_recent(Seq after, std::size_t limit) const;

  BufferOptions options_;
  SpaceReserve reserve_;
  std::unique_ptr<sql::Connection> db_;
  std::unique_ptr<BufferStatements> st_;  // destroyed before the connection is closed
  std::map<std::string, std::optional<std::string>> states_;  // nullopt: erase
  std::uint64_t page_size_ = 4096;
  Seq next_seq_ = 1;
  Seq committed_seq_ = 0;
  Seq reserved_ = 0;
  struct Pending {
    Seq seq;
    RecordKind kind;
    std::string topic;
    std::string payload;
  };
  std::vector<Pending> appends_;
  // Committed records in seq order, the newest kRecentBound bytes of them. Complete from recent_from_ up: every
  // committed, unacknowledged record with seq >= recent_from_ is in it (acknowledged ones are flagged, then popped).
  struct Recent {
    StoredRecord record;
    bool acknowledged = false;
  };
  std::deque<Recent> recent_;
  std::size_t recent_bytes_ = 0;
  Seq recent_from_ = 1;
  mutable std::uint64_t file_reads_ = 0;
  std::size_t appended_bytes_ = 0;  // payload bytes in appends_
  std::optional<Overflow> memory_overflow_;
  std::set<Seq> acks_;
  std::chrono::steady_clock::time_point oldest_ack_{};
  std::uint64_t bytes_since_check_ = 0;
  std::optional<Recovery> recovery_;
  std::optional<SeqSkip> seq_skip_;
  std::string boot_id_;
  std::string write_error_;
  bool failure_reported_ = false;  // commit() threw since the last successful write
  BufferStats stats_;
  std::int64_t count_ = 0;
  bool warned_full_ = false;  // warn once while only records that are never dropped are left
};

}  // namespace tally
