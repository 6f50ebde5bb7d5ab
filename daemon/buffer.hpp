#pragma once
// The store-and-forward buffer: an SQLite database in WAL mode that holds every record from the moment it is
// committed until the broker has acknowledged it.
//
// - `seq` is per station, starts at 1, goes up by exactly one per record and is never reused, also across restarts
//   and after every record was acknowledged and deleted (the high-water mark is kept in a `meta` table).
// - Appends and acknowledgements are queued in memory and written by commit() in ONE transaction: the daemon calls
//   commit() once per event-loop iteration, so a burst of readings costs one transaction, not one per reading.
// - Bounded by max_bytes: when the records in the database take more, the oldest READINGS are deleted (never events,
//   scans, units, alarms or batch records), down to 90 % of the bound, and commit() reports what it dropped so the
//   caller can record a buffer.overflow event.
// - A file that is not a database or fails SQLite's quick_check is moved aside to "<path>.corrupt-<UTC time>" (with
//   its -wal and -shm files), a new database is started, and recovered() says so. The seq high-water mark is read
//   from the damaged file when SQLite still can; otherwise seq restarts at 1 and recovered()->seq_recovered is false.
// - A failed commit (disk full, I/O error) rolls back and keeps the queued records in memory for the next commit:
//   nothing is lost while the disk is full; commit() throws buffer_error so the caller can log and retry.
#include <sqlite3.h>

#include <cstdint>
#include <chrono>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "record.hpp"

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

struct Recovery {
  std::string moved_to;   // where the damaged file now is
  std::string reason;     // SQLite's words
  bool seq_recovered = false;
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
  static constexpr auto kAckDelay = std::chrono::seconds(10);
  static constexpr std::size_t kAckBatch = 1000;

  // Small named documents (the production context) written in the same transaction as the records queued with
  // them: a state change and the events that describe it are committed together or not at all.
  void put_state(const std::string& key, std::string value);
  std::optional<std::string> get_state(const std::string& key) const;  // the queued value, else the committed one

  // Committed records with seq > after, oldest first, at most `limit`. Acknowledgements not yet committed are
  // still returned: call commit() first.
  std::vector<StoredRecord> read_after(Seq after, std::size_t limit) const;

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
  const BufferStats& stats() const { return stats_; }
  const std::string& path() const { return options_.path; }

 private:
  // implementation detail: see buffer.cpp
  void open_database();
  void prepare_statements();
  void check_previous_shutdown();
  void write_states();
  void save_high_water(Seq seq);
  void close_database() noexcept;
  sqlite3_stmt* prepare(const char* sql);
  void run(sqlite3_stmt* statement, const char* what) const;
  std::int64_t query_int(sqlite3_stmt* statement, const char* what) const;
  void rollback() noexcept;
  std::optional<Overflow> enforce_bound();

  BufferOptions options_;
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;  // every prepared statement, finalized on close
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* save_last_seq_ = nullptr;
  sqlite3_stmt* read_after_ = nullptr;
  sqlite3_stmt* put_state_ = nullptr;
  sqlite3_stmt* get_state_ = nullptr;
  std::map<std::string, std::string> states_;
  sqlite3_stmt* page_count_ = nullptr;
  sqlite3_stmt* freelist_count_ = nullptr;
  sqlite3_stmt* oldest_readings_ = nullptr;
  sqlite3_stmt* drop_readings_ = nullptr;
  std::uint64_t page_size_ = 4096;
  Seq next_seq_ = 1;
  Seq committed_seq_ = 0;
  struct Pending {
    Seq seq;
    RecordKind kind;
    std::string topic;
    std::string payload;
  };
  std::vector<Pending> appends_;
  std::set<Seq> acks_;
  std::chrono::steady_clock::time_point oldest_ack_{};
  std::uint64_t bytes_since_check_ = 0;
  std::optional<Recovery> recovery_;
  std::optional<SeqSkip> seq_skip_;
  std::string boot_id_;
  BufferStats stats_;
  std::int64_t count_ = 0;
  bool warned_full_ = false;  // warn once while only records that are never dropped are left
};

}  // namespace tally
