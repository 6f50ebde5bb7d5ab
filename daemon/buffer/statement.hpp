#pragma once
// RAII over SQLite: a connection and its prepared statements, finalized and closed by their destructors, so no
// path (an exception while opening, a reopen after corruption) can leak a statement or close a connection that
// still has one.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "buffer/buffer_error.hpp"

namespace tally::sql {

[[noreturn]] inline void fail(sqlite3* db, int rc, const std::string& what) {
  throw buffer_error(rc, what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

class Statement {
 public:
  Statement() = default;
  // Throws buffer_error when `sql` does not compile. `persistent` for statements kept for the life of the
  // connection (SQLITE_PREPARE_PERSISTENT), not for one-off queries.
  Statement(sqlite3* db, const char* sql, bool persistent = true) {
    const int rc = sqlite3_prepare_v3(db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &s_, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(s_);
      s_ = nullptr;
      fail(db, rc, sql);
    }
  }
  ~Statement() { sqlite3_finalize(s_); }
  Statement(Statement&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    if (this != &other) {
      sqlite3_finalize(s_);
      s_ = std::exchange(other.s_, nullptr);
    }
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* get() const { return s_; }
  explicit operator bool() const { return s_ != nullptr; }

  // Bindings are 1-based. Text is bound SQLITE_STATIC: the caller keeps it alive until the statement is reset.
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }

  // One step to completion (a statement left stepping holds a read transaction, which keeps the WAL from being
  // checkpointed): reset afterwards whatever happens.
  void run(const char* what) {
    const int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(sqlite3_db_handle(s_), rc, what);
  }
  // The first column of the first row.
  std::int64_t query_int(const char* what) {
    const int rc = sqlite3_step(s_);
    const std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(s_, 0) : 0;
    sqlite3_reset(s_);
    if (rc != SQLITE_ROW) fail(sqlite3_db_handle(s_), rc, what);
    return value;
  }
  // Steps once: true for a row, false when done; throws on error (the caller resets, see Reset).
  bool step(const char* what) {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(sqlite3_db_handle(s_), rc, what);
  }
  std::int64_t int64(int column) const { return sqlite3_column_int64(s_, column); }
  bool null(int column) const { return sqlite3_column_type(s_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, column));
    return p != nullptr ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, column))) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Resets a statement stepped row by row when the reader leaves, by return or by exception.
struct Reset {
  Statement& statement;
  ~Reset() { sqlite3_reset(statement.get()); }
};

// A connection, closed by its destructor (its statements must be destroyed first: declare them after it).
class Connection {
 public:
  Connection() = default;
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Throws buffer_error when the file cannot be opened with `flags`.
  void open(const std::string& path, int flags) {
    close();
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "cannot open " + path);
  }
  void close() noexcept {
    sqlite3_close(db_);
    db_ = nullptr;
  }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace tally::sql
