#include "buffer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <utility>

#include "errors.hpp"

namespace tally {
namespace {

namespace fs = std::filesystem;

// The daemon is the only writer. Anything else holding the write lock (someone's sqlite3 shell) should make a
// commit fail soon and be retried on the next loop iteration rather than stall the event loop.
constexpr int kBusyTimeoutMs = 1000;
// Deleting rows frees pages only once SQLite merges underfull ones, so overflow deletes an estimate, measures
// again and repeats, a bounded number of times per commit.
constexpr int kOverflowRounds = 16;

// meta is WITHOUT ROWID so that writing last_seq touches one b-tree, not a table and its key index.
constexpr const char* kSchema =
    "BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, topic TEXT NOT NULL,"
    " payload TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version = 1;"
    "COMMIT;";

bool is_corruption(int rc) {
  rc &= 0xff;  // extended codes (SQLITE_CORRUPT_VTAB...) count too
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

[[noreturn]] void fail(sqlite3* db, int rc, const std::string& what) {
  throw buffer_error(rc, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// A statement left stepping holds a read transaction, which keeps the WAL from being checkpointed.
struct ResetOnExit {
  sqlite3_stmt* statement;
  ~ResetOnExit() { sqlite3_reset(statement); }
};

std::string text(sqlite3_stmt* s, int column) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
  return p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, column))) : std::string();
}

// One-off statements used while opening: prepared, stepped through and finalized.
template <class OnRow>
void each_row(sqlite3* db, const char* sql, OnRow&& on_row) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> statement(raw, &sqlite3_finalize);
  if (rc != SQLITE_OK) fail(db, rc, sql);
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) on_row(raw);
  if (rc != SQLITE_DONE) fail(db, rc, sql);
}

std::optional<std::int64_t> query_value(sqlite3* db, const char* sql) {
  std::optional<std::int64_t> value;
  each_row(db, sql, [&](sqlite3_stmt* s) {
    if (sqlite3_column_type(s, 0) != SQLITE_NULL) value = sqlite3_column_int64(s, 0);
  });
  return value;
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string why = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw buffer_error(rc, std::string(sql) + ": " + why);
  }
}

std::string utc_stamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Moves the database and its -wal and -shm files to "<path>.corrupt-<UTC time>[-N]"; returns the new path.
std::string move_aside(const std::string& path) {
  const std::string base = path + ".corrupt-" + utc_stamp();
  std::string target = base;
  std::error_code ec;
  for (int n = 2; fs::exists(target, ec); ++n) target = base + "-" + std::to_string(n);
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    if (!suffix.empty() && !fs::exists(path + suffix, ec)) continue;
    fs::rename(path + suffix, target + suffix, ec);
    if (ec) throw buffer_error(SQLITE_CANTOPEN, "cannot move " + path + suffix + " aside: " + ec.message());
  }
  return target;
}

// Best effort: whatever SQLite can still read of the high-water mark. Complete only when both places were read.
std::pair<Seq, bool> read_high_water(const std::string& file) {
  sqlite3* db = nullptr;
  Seq seq = 0;
  int places_read = 0;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) == SQLITE_OK) {
    for (const char* sql : {"SELECT max(seq) FROM records", "SELECT value FROM meta WHERE key = 'last_seq'"}) {
      try {
        seq = std::max(seq, query_value(db, sql).value_or(0));
        ++places_read;
      } catch (const buffer_error&) {
      }
    }
  }
  sqlite3_close(db);
  return {seq, places_read == 2};
}

}  // namespace

Buffer::Buffer(BufferOptions options) : options_(std::move(options)) {
  const fs::path parent = fs::path(options_.path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw buffer_error(SQLITE_CANTOPEN, "cannot create " + parent.string() + ": " + ec.message());

  try {
    try {
      open_database();
    } catch (const buffer_error& e) {
      if (!is_corruption(e.sqlite_code)) throw;
      // Keep the damaged file as it was, WAL included, for whoever investigates.
      if (db_ != nullptr) sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      close_database();
      Recovery recovery{move_aside(options_.path), e.what(), false};
      const auto [seq, complete] = read_high_water(recovery.moved_to);
      recovery.seq_recovered = complete;
      open_database();
      if (seq > committed_seq_) {
        save_high_water(seq);
        committed_seq_ = seq;
        next_seq_ = seq + 1;
      }
      spdlog::error("buffer {}: {}; moved it to {} and started a new one; {}", options_.path, recovery.reason,
                    recovery.moved_to,
                    complete ? "seq continues after " + std::to_string(seq)
                             : "the seq high-water mark could not be read, seq restarts at " +
                                   std::to_string(next_seq_));
      recovery_ = std::move(recovery);
    }
  } catch (...) {
    close_database();
    throw;
  }
}

Buffer::~Buffer() { close_database(); }

void Buffer::open_database() {
  // The records name the station's products, lots and operators: not for every local user. SQLite creates a new
  // database 0644 (less the umask) and gives its -wal and -shm files the database file's mode, so the file is made
  // here first, 0640; an existing one keeps its mode.
  if (const int fd = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640); fd >= 0) ::close(fd);
  const int rc = sqlite3_open_v2(options_.path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, "cannot open " + options_.path);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // Every commit appends whole pages to the WAL: 1 KiB pages write a quarter of the default 4 KiB for a reading.
  // Only takes effect on a new file (before WAL mode writes the header); an existing buffer keeps its size.
  exec(db_, "PRAGMA page_size=1024");
  std::string mode;
  each_row(db_, "PRAGMA journal_mode=WAL", [&](sqlite3_stmt* s) { mode = text(s, 0); });
  if (mode != "wal") spdlog::warn("buffer {}: journal mode is {}, not wal", options_.path, mode);
  exec(db_, options_.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");

  std::string problems;
  each_row(db_, "PRAGMA quick_check(5)", [&](sqlite3_stmt* s) {
    problems += (problems.empty() ? "" : "; ") + text(s, 0);
  });
  if (problems != "ok") throw buffer_error(SQLITE_CORRUPT, "quick_check: " + problems);

  if (query_value(db_, "PRAGMA user_version").value_or(0) < 1) exec(db_, kSchema);
  committed_seq_ = std::max(query_value(db_, "SELECT max(seq) FROM records").value_or(0),
                            query_value(db_, "SELECT value FROM meta WHERE key = 'last_seq'").value_or(0));
  next_seq_ = committed_seq_ + 1;
  count_ = query_value(db_, "SELECT count(*) FROM records").value_or(0);
  page_size_ = static_cast<std::uint64_t>(query_value(db_, "PRAGMA page_size").value_or(4096));

  prepare_statements();
  check_previous_shutdown();
}

void Buffer::prepare_statements() {
  begin_ = prepare("BEGIN IMMEDIATE");
  commit_ = prepare("COMMIT");
  rollback_ = prepare("ROLLBACK");
  insert_ = prepare("INSERT INTO records(seq, kind, topic, payload) VALUES (?1, ?2, ?3, ?4)");
  delete_ = prepare("DELETE FROM records WHERE seq = ?1");
  save_last_seq_ = prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_seq', ?1)");
  put_state_ = prepare("INSERT OR REPLACE INTO state(key, value) VALUES (?1, ?2)");
  get_state_ = prepare("SELECT value FROM state WHERE key = ?1");
  read_after_ = prepare("SELECT seq, kind, topic, payload FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  page_count_ = prepare("PRAGMA page_count");
  freelist_count_ = prepare("PRAGMA freelist_count");
  oldest_readings_ = prepare(
      "SELECT count(*), min(seq), max(seq) FROM (SELECT seq FROM records WHERE kind = 0 ORDER BY seq LIMIT ?1)");
  drop_readings_ = prepare("DELETE FROM records WHERE kind = 0 AND seq <= ?1");
}

void Buffer::close_database() noexcept {
  for (auto* statement : statements_) sqlite3_finalize(statement);
  statements_.clear();
  sqlite3_close(db_);
  db_ = nullptr;
}

sqlite3_stmt* Buffer::prepare(const char* sql) {
  sqlite3_stmt* statement = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (rc != SQLITE_OK) fail(db_, rc, sql);
  statements_.push_back(statement);
  return statement;
}

void Buffer::run(sqlite3_stmt* statement, const char* what) const {
  ResetOnExit reset{statement};
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(db_, rc, what);
}

std::int64_t Buffer::query_int(sqlite3_stmt* statement, const char* what) const {
  ResetOnExit reset{statement};
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_ROW) fail(db_, rc, what);
  return sqlite3_column_int64(statement, 0);
}

void Buffer::rollback() noexcept {
  // Some errors (SQLITE_FULL, SQLITE_IOERR...) have already rolled the transaction back.
  if (sqlite3_get_autocommit(db_) == 0) {
    sqlite3_step(rollback_);
    sqlite3_reset(rollback_);
  }
}

Seq Buffer::append(const Record& record) {
  appends_.push_back({next_seq_, record.kind, record.topic, serialize_with_seq(next_seq_, record.body)});
  return next_seq_++;
}

void Buffer::acknowledge(Seq seq) {
  if (seq <= 0 || seq > committed_seq_) return;  // never committed: nothing to delete
  if (acks_.empty()) oldest_ack_ = std::chrono::steady_clock::now();
  acks_.insert(seq);
}

std::optional<Overflow> Buffer::commit(bool flush_acknowledgements) {
  // Deletions ride along with the next commit that writes anyway (the same last leaf page, no extra WAL frame):
  // a transaction of its own only when many are waiting, when the oldest has waited long enough, or on request.
  const bool acks_due = !acks_.empty() && (flush_acknowledgements || !appends_.empty() || !states_.empty() ||
                                           acks_.size() >= kAckBatch ||
                                           std::chrono::steady_clock::now() - oldest_ack_ >= kAckDelay);
  if (appends_.empty() && states_.empty() && !acks_due) return std::nullopt;
  std::int64_t deleted = 0;
  try {
    run(begin_, "begin");
    for (const auto& p : appends_) {
      // Binding only fails for a payload over SQLite's 1 GB limit; the step then fails on NOT NULL.
      sqlite3_bind_int64(insert_, 1, p.seq);
      sqlite3_bind_int(insert_, 2, static_cast<int>(p.kind));
      sqlite3_bind_text(insert_, 3, p.topic.data(), static_cast<int>(p.topic.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert_, 4, p.payload.data(), static_cast<int>(p.payload.size()), SQLITE_STATIC);
      run(insert_, "append");
    }
    if (acks_due) {
      for (const Seq seq : acks_) {
        sqlite3_bind_int64(delete_, 1, seq);
        run(delete_, "acknowledge");
        deleted += sqlite3_changes(db_);
      }
    }
    write_states();
    // The high-water mark may just have been deleted. A commit that also inserts keeps it in max(seq) (appends are
    // the newest records), so only a deletion-only commit writes meta.
    if (deleted > 0 && appends_.empty()) save_high_water(next_seq_ - 1);
    run(commit_, "commit");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  committed_seq_ = next_seq_ - 1;
  count_ += static_cast<std::int64_t>(appends_.size()) - deleted;
  stats_.transactions += 1;
  stats_.appended += appends_.size();
  stats_.acknowledged += static_cast<std::uint64_t>(deleted);
  for (const auto& p : appends_) bytes_since_check_ += p.payload.size();
  appends_.clear();
  if (acks_due) acks_.clear();
  states_.clear();

  // Measuring the file costs two PRAGMAs: do it after every hundredth of the bound written, not every commit.
  if (bytes_since_check_ < std::max<std::uint64_t>(options_.max_bytes / 100, 1)) return std::nullopt;
  bytes_since_check_ = 0;
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
  run(begin_, "begin overflow");
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
        ResetOnExit reset{oldest_readings_};
        sqlite3_bind_int64(oldest_readings_, 1, rows);
        const int rc = sqlite3_step(oldest_readings_);
        if (rc != SQLITE_ROW) fail(db_, rc, "find oldest readings");
        n = sqlite3_column_int64(oldest_readings_, 0);
        first = sqlite3_column_int64(oldest_readings_, 1);
        last = sqlite3_column_int64(oldest_readings_, 2);
      }
      if (n == 0) {
        readings_left = false;
        break;
      }
      sqlite3_bind_int64(drop_readings_, 1, last);
      run(drop_readings_, "drop readings");
      if (overflow.dropped == 0) overflow.first_seq = first;
      overflow.last_seq = last;
      overflow.dropped += n;
      used = used_bytes();
    }
    if (overflow.dropped > 0) save_high_water(committed_seq_);
    run(commit_, "commit overflow");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
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

std::vector<StoredRecord> Buffer::read_after(Seq after, std::size_t limit) const {
  std::vector<StoredRecord> out;
  ResetOnExit reset{read_after_};
  sqlite3_bind_int64(read_after_, 1, after);
  // Acknowledged records whose deletion is deferred are skipped: ask for that many more rows.
  const std::size_t want = std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<sqlite3_int64>::max()) -
                                                             acks_.size()) + acks_.size();
  sqlite3_bind_int64(read_after_, 2, static_cast<sqlite3_int64>(want));
  int rc = 0;
  while (out.size() < limit && (rc = sqlite3_step(read_after_)) == SQLITE_ROW) {
    if (acks_.count(sqlite3_column_int64(read_after_, 0))) continue;
    out.push_back({sqlite3_column_int64(read_after_, 0), static_cast<RecordKind>(sqlite3_column_int(read_after_, 1)),
                   text(read_after_, 2), text(read_after_, 3)});
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(db_, rc, "read");  // ROW: stopped at `limit`, more rows left
  return out;
}

// Acknowledged records waiting for their deletion are no longer "buffered".
std::int64_t Buffer::count() const { return std::max<std::int64_t>(count_ - static_cast<std::int64_t>(acks_.size()), 0); }

Seq Buffer::last_committed_seq() const { return committed_seq_; }

std::size_t Buffer::pending() const { return appends_.size() + acks_.size(); }

std::uint64_t Buffer::used_bytes() const {
  const std::int64_t pages = query_int(page_count_, "page count") - query_int(freelist_count_, "freelist count");
  return static_cast<std::uint64_t>(std::max<std::int64_t>(pages, 0)) * page_size_;
}

void Buffer::put_state(const std::string& key, std::string value) { states_[key] = std::move(value); }

std::optional<std::string> Buffer::get_state(const std::string& key) const {
  if (auto it = states_.find(key); it != states_.end()) return it->second;
  sqlite3_bind_text(get_state_, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
  std::optional<std::string> value;
  if (sqlite3_step(get_state_) == SQLITE_ROW)
    value.emplace(reinterpret_cast<const char*>(sqlite3_column_text(get_state_, 0)),
                  static_cast<std::size_t>(sqlite3_column_bytes(get_state_, 0)));
  sqlite3_reset(get_state_);
  sqlite3_clear_bindings(get_state_);
  return value;
}

namespace {
std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}
}  // namespace

void Buffer::check_previous_shutdown() {
  boot_id_ = current_boot_id();
  if (const auto previous = get_state("shutdown")) {
    // "<boot id> running" or "<boot id> clean"
    const auto space = previous->rfind(' ');
    const std::string boot = previous->substr(0, space);
    const bool clean = space != std::string::npos && previous->substr(space + 1) == "clean";
    if (!clean && !boot_id_.empty() && boot != boot_id_) {
      seq_skip_ = SeqSkip{next_seq_, next_seq_ + kPowerLossMargin - 1};
      next_seq_ += kPowerLossMargin;
      committed_seq_ = next_seq_ - 1;
    }
  }
  // Noted at once, with the skip's high-water mark, so a second power cut right away cannot undo it.
  put_state("shutdown", boot_id_ + " running");
  run(begin_, "begin");
  try {
    write_states();
    if (seq_skip_) save_high_water(committed_seq_);
    run(commit_, "commit");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  states_.clear();
}

// Inside a transaction: the state documents queued by put_state().
void Buffer::write_states() {
  for (const auto& [key, value] : states_) {
    sqlite3_bind_text(put_state_, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    sqlite3_bind_text(put_state_, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    run(put_state_, "save state");
  }
}

// The seq high-water mark, for when max(seq) of the records no longer holds it.
void Buffer::save_high_water(Seq seq) {
  sqlite3_bind_int64(save_last_seq_, 1, seq);
  run(save_last_seq_, "save last seq");
}

void Buffer::mark_clean_shutdown() {
  put_state("shutdown", boot_id_ + " clean");
  commit(true);
}

}  // namespace tally
