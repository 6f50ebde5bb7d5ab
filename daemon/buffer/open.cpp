// Opening the buffer: the schema, the seq reservation file, the check of the previous shutdown, and what happens
// when the file is damaged or lost: moved aside, what is readable salvaged into a new database, seq continued
// above anything that may have been given out. The record path is in buffer.cpp.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <utility>

#include "buffer/buffer.hpp"
#include "buffer/detail.hpp"
#include "buffer/buffer_error.hpp"
#include "buffer/schema.hpp"

namespace tally {

namespace buffer_detail {

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string why = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw buffer_error(rc, std::string(sql) + ": " + why);
  }
}

bool is_corruption(int rc) {
  rc &= 0xff;  // extended codes (SQLITE_CORRUPT_VTAB...) count too
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

}  // namespace buffer_detail

namespace {

namespace fs = std::filesystem;
using namespace buffer_detail;

// The daemon is the only writer. Anything else holding the write lock (someone's sqlite3 shell) should make a
// commit fail soon and be retried on the next loop iteration rather than stall the event loop.
constexpr int kBusyTimeoutMs = 1000;
// Regions of unreadable pages the salvage steps over before it gives up on the rest of the file.
constexpr int kSalvageRegions = 64;

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
    if (!fs::exists(path + suffix, ec)) continue;
    fs::rename(path + suffix, target + suffix, ec);
    if (ec) throw buffer_error(SQLITE_CANTOPEN, "cannot move " + path + suffix + " aside: " + ec.message());
  }
  return target;
}

std::string reservation_path(const std::string& path) { return path + ".seq"; }

// "<path>.seq": one line, "reserved <N>". Anything else (missing, garbage) reads as nothing.
std::optional<Seq> read_reservation(const std::string& path) {
  std::ifstream in(reservation_path(path));
  std::string word;
  long long value = -1;
  if (in >> word >> value && word == "reserved" && value >= 0) return static_cast<Seq>(value);
  return std::nullopt;
}

[[noreturn]] void fail_io(const std::string& what, int err) {
  throw buffer_error(err == ENOSPC || err == EDQUOT ? SQLITE_FULL : SQLITE_IOERR,
                     what + ": " + std::strerror(err));
}

// write + fsync + rename + fsync of the directory: after a power cut the file holds the old value or the new one.
void write_reservation(const std::string& path, Seq reserved) {
  const std::string file = reservation_path(path);
  const std::string temporary = file + ".tmp";
  const std::string text = "reserved " + std::to_string(reserved) + "\n";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_io("cannot write " + temporary, errno);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int write_errno = written ? 0 : (errno != 0 ? errno : ENOSPC);
  const bool synced = written && ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  if (!written || !synced) {
    ::unlink(temporary.c_str());
    fail_io("cannot write " + temporary, written ? sync_errno : write_errno);
  }
  if (::rename(temporary.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    fail_io("cannot rename " + temporary, err);
  }
  const std::string directory = fs::path(file).parent_path().string();
  const int dfd = ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

struct Salvage {
  std::vector<StoredRecord> records;
  std::map<std::string, std::string> states;
  Seq high_water = 0;
  bool high_water_complete = false;  // both places it is kept were read
  std::vector<SeqRange> unreadable;
};

bool valid_kind(std::int64_t kind) { return kind >= 0 && kind <= static_cast<int>(RecordKind::batch); }

// Reads what SQLite still can of a damaged file, stepping over unreadable regions of the records table: after a
// read fails, the first seq that can be reached again is found by probing ahead in growing steps (a damaged leaf
// page fails every query that lands on it; the b-tree leads around it to the others).
Salvage salvage(const std::string& file, Seq known_high_water) {
  Salvage out;
  sql::Connection c;
  try {
    c.open(file, SQLITE_OPEN_READWRITE);
    // Kept as it was for whoever investigates: no checkpoint into it at close.
    sqlite3_db_config(c.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    exec(c.get(), "PRAGMA query_only=1");
  } catch (const buffer_error&) {
    if (known_high_water > 0) out.unreadable.push_back({1, known_high_water});
    return out;
  }
  int places_read = 0;
  for (const char* sql : {"SELECT max(seq) FROM records", "SELECT value FROM meta WHERE key = 'last_seq'"}) {
    try {
      out.high_water = std::max(out.high_water, query_value(c.get(), sql).value_or(0));
      ++places_read;
    } catch (const buffer_error&) {
    }
  }
  out.high_water_complete = places_read == 2;
  try {
    each_row(c.get(), "SELECT key, value FROM state", [&](sql::Statement& s) { out.states[s.text(0)] = s.text(1); });
  } catch (const buffer_error&) {
    out.states.clear();  // a half-read set of documents is not what was saved together
  }

  const Seq end = std::max(known_high_water, out.high_water);
  Seq cursor = 0;  // every seq up to here was read or is already named unreadable
  for (int region = 0; region < kSalvageRegions; ++region) {
    try {
      sql::Statement s(c.get(), "SELECT seq, kind, topic, payload FROM records WHERE seq > ?1 ORDER BY seq", false);
      s.bind(1, cursor);
      sql::Reset reset{s};
      while (s.step("salvage")) {
        if (valid_kind(s.int64(1)))
          out.records.push_back({s.int64(0), static_cast<RecordKind>(s.int64(1)), s.text(2), s.text(3)});
        cursor = s.int64(0);
      }
      return out;  // read to the end
    } catch (const buffer_error&) {
    }
    bool resumed = false;
    for (Seq step = 1; cursor + step <= end && !resumed; step *= 2) {
      try {
        sql::Statement p(c.get(), "SELECT seq FROM records WHERE seq > ?1 ORDER BY seq LIMIT 1", false);
        p.bind(1, cursor + step);
        sql::Reset reset{p};
        if (p.step("probe")) {
          const Seq next = p.int64(0);
          out.unreadable.push_back({cursor + 1, next - 1});
          cursor = next - 1;
        } else {
          out.unreadable.push_back({cursor + 1, cursor + step});
          return out;
        }
        resumed = true;
      } catch (const buffer_error&) {
      }
    }
    if (!resumed) break;
  }
  if (cursor < end) out.unreadable.push_back({cursor + 1, end});
  return out;
}

}  // namespace

Buffer::Buffer(BufferOptions options)
    : options_(std::move(options)),
      reserve_(options_.path + ".reserve", kReserveBytes),
      db_(std::make_unique<sql::Connection>()) {
  const fs::path parent = fs::path(options_.path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw buffer_error(SQLITE_CANTOPEN, "cannot create " + parent.string() + ": " + ec.message());
  try {
    open_or_recover();
  } catch (...) {
    close_database();
    throw;
  }
  recent_from_ = committed_seq_ + 1;  // what the file holds is backlog, read from the file
  reserve_.restore(kReserveHeadroom);
  if (reserve_.size() < kReserveBytes)
    spdlog::warn("buffer {}: {} of {} bytes of disk space reserved in {} (the disk is nearly full); grown later",
                 options_.path, reserve_.size(), kReserveBytes, reserve_.path());
}

Buffer::~Buffer() { close_database(); }

void Buffer::open_or_recover() {
  const std::optional<Seq> reservation = read_reservation(options_.path);
  reserved_ = reservation.value_or(0);
  std::error_code ec;
  const bool exists = fs::exists(options_.path, ec);
  const bool empty = !exists || fs::file_size(options_.path, ec) == 0;
  if (empty && reserved_ > 0) {
    // SQLite takes a 0-byte file for a new database: seq would start at 1 again, silently.
    recover(exists ? "the database file is empty (truncated?) but seqs up to " + std::to_string(reserved_) +
                         " were given out"
                   : "the database file is missing but seqs up to " + std::to_string(reserved_) +
                         " were given out");
  } else {
    try {
      open_database();
    } catch (const buffer_error& e) {
      if (!is_corruption(e.sqlite_code)) throw;
      recover(e.what());
    }
  }
  check_previous_shutdown();
  if (reserved_ < next_seq_) {
    // An older buffer without the file, or a damaged one: the reservation starts now. A failure here (disk full
    // at start) is not fatal: the first commit that needs it tries again, and fails until it can write it.
    try {
      reserve(next_seq_);
    } catch (const buffer_error& e) {
      spdlog::warn("buffer {}: {}", options_.path, e.what());
    }
  }
}

void Buffer::open_database() {
  // The records name the station's products, lots and operators: not for every local user. SQLite creates a new
  // database 0644 (less the umask) and gives its -wal and -shm files the database file's mode, so the file is made
  // here first, 0640; an existing one keeps its mode.
  if (const int fd = ::open(options_.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640); fd >= 0) ::close(fd);
  db_->open(options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = db_->get();
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // Every commit appends whole pages to the WAL: 1 KiB pages write a quarter of the default 4 KiB for a reading.
  // Only takes effect on a new file (before WAL mode writes the header); an existing buffer keeps its size.
  exec(db, "PRAGMA page_size=1024");
  std::string mode;
  each_row(db, "PRAGMA journal_mode=WAL", [&](sql::Statement& s) { mode = s.text(0); });
  if (mode != "wal") spdlog::warn("buffer {}: journal mode is {}, not wal", options_.path, mode);
  exec(db, options_.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");

  std::string problems;
  each_row(db, "PRAGMA quick_check(5)", [&](sql::Statement& s) {
    problems += (problems.empty() ? "" : "; ") + s.text(0);
  });
  if (problems != "ok") throw buffer_error(SQLITE_CORRUPT, "quick_check: " + problems);

  if (query_value(db, "PRAGMA user_version").value_or(0) < buffer_schema::kUserVersion) exec(db, buffer_schema::create_sql().c_str());
  committed_seq_ = std::max(query_value(db, "SELECT max(seq) FROM records").value_or(0),
                            query_value(db, "SELECT value FROM meta WHERE key = 'last_seq'").value_or(0));
  next_seq_ = committed_seq_ + 1;
  count_ = query_value(db, "SELECT count(*) FROM records").value_or(0);
  page_size_ = static_cast<std::uint64_t>(query_value(db, "PRAGMA page_size").value_or(4096));
  st_ = std::make_unique<BufferStatements>(db);
}

void Buffer::recover(const std::string& reason) {
  // Keep the damaged file as it was, WAL included, for whoever investigates.
  if (db_->get() != nullptr) sqlite3_db_config(db_->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  close_database();
  std::error_code ec;
  Recovery recovery;
  recovery.reason = reason;
  const bool any_file = fs::exists(options_.path, ec) || fs::exists(options_.path + "-wal", ec);
  if (any_file) recovery.moved_to = move_aside(options_.path);
  Salvage saved;
  if (!recovery.moved_to.empty()) saved = salvage(recovery.moved_to, reserved_);
  else if (reserved_ > 0) saved.unreadable.push_back({1, reserved_});
  open_database();

  const Seq high_water = std::max({saved.high_water, reserved_, committed_seq_});
  recovery.seq_recovered = reserved_ > 0 || saved.high_water_complete;
  recovery.unsaved = saved.unreadable;
  st_->begin.run("begin salvage");
  try {
    for (const auto& r : saved.records) {
      st_->insert.bind(1, r.seq).bind(2, static_cast<std::int64_t>(r.kind)).bind(3, r.topic).bind(4, r.payload);
      st_->insert.run("salvage record");
    }
    for (const auto& [key, value] : saved.states) {
      if (key == "shutdown") continue;  // about the damaged file's run, not this one
      st_->put_state.bind(1, key).bind(2, value);
      st_->put_state.run("salvage state");
      recovery.salvaged_states.push_back(key);
    }
    save_high_water(high_water);
    st_->commit.run("commit salvage");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  recovery.salvaged = static_cast<std::int64_t>(saved.records.size());
  count_ += recovery.salvaged;
  committed_seq_ = high_water;
  next_seq_ = high_water + 1;
  std::string unsaved;
  for (const auto& r : recovery.unsaved)
    unsaved += (unsaved.empty() ? "" : ", ") + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq);
  spdlog::error("buffer {}: {}; moved it to {} and started a new one; salvaged {} records and {} state documents; "
                "{}; {}",
                options_.path, recovery.reason, recovery.moved_to.empty() ? "(nothing to move)" : recovery.moved_to,
                recovery.salvaged, recovery.salvaged_states.size(),
                unsaved.empty() ? "every record that could be read was saved" : "seq " + unsaved + " could not be read",
                recovery.seq_recovered ? "seq continues after " + std::to_string(high_water)
                                       : "the seq high-water mark could not be read, seq restarts at " +
                                             std::to_string(next_seq_));
  recovery_ = std::move(recovery);
}

void Buffer::close_database() noexcept {
  st_.reset();  // statements first: a connection with statements left does not close
  if (db_) db_->close();
}

void Buffer::reserve(Seq seq) {
  if (seq <= reserved_) return;
  const Seq reserved = seq + kSeqBlock - 1;
  write_reservation(options_.path, reserved);
  reserved_ = reserved;
}

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
  st_->begin.run("begin");
  try {
    write_states();
    if (seq_skip_) save_high_water(committed_seq_);
    st_->commit.run("commit");
  } catch (const buffer_error&) {
    rollback();
    throw;
  }
  states_.clear();
}

}  // namespace tally
