#pragma once
// Shared by buffer.cpp and open.cpp only: the prepared statements and one-off query helpers.
#include <optional>
#include <string>

#include "buffer/schema.hpp"
#include "buffer/statement.hpp"

namespace tally {

struct BufferStatements {
  explicit BufferStatements(sqlite3* db)
      : begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        insert(db, buffer_schema::kInsertRecord),
        remove(db, "DELETE FROM records WHERE seq = ?1"),
        save_last_seq(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_seq', ?1)"),
        put_state(db, "INSERT OR REPLACE INTO state(key, value) VALUES (?1, ?2)"),
        get_state(db, "SELECT value FROM state WHERE key = ?1"),
        erase_state(db, "DELETE FROM state WHERE key = ?1"),
        prefix_states(db, "SELECT key, value FROM state WHERE key >= ?1 AND substr(key, 1, length(?1)) = ?1 ORDER BY key"),
        read_after(db, "SELECT seq, kind, topic, payload FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
        page_count(db, "PRAGMA page_count"),
        freelist_count(db, "PRAGMA freelist_count"),
        oldest_readings(db,
                        "SELECT count(*), min(seq), max(seq) FROM (SELECT seq FROM records WHERE kind = 0 ORDER BY "
                        "seq LIMIT ?1)"),
        drop_readings(db, "DELETE FROM records WHERE kind = 0 AND seq <= ?1"),
        checkpoint(db, "PRAGMA wal_checkpoint(TRUNCATE)") {}
  sql::Statement begin, commit, rollback, insert, remove, save_last_seq, put_state, get_state, erase_state, prefix_states, read_after,
      page_count, freelist_count, oldest_readings, drop_readings, checkpoint;
};

namespace buffer_detail {

// One-off statements: prepared, stepped through and finalized.
template <class OnRow>
void each_row(sqlite3* db, const char* sql, OnRow&& on_row) {
  sql::Statement s(db, sql, false);
  sql::Reset reset{s};
  while (s.step(sql)) on_row(s);
}

inline std::optional<std::int64_t> query_value(sqlite3* db, const char* sql) {
  std::optional<std::int64_t> value;
  each_row(db, sql, [&](sql::Statement& s) {
    if (!s.null(0)) value = s.int64(0);
  });
  return value;
}

void exec(sqlite3* db, const char* sql);
bool is_corruption(int rc);

}  // namespace buffer_detail
}  // namespace tally
