#pragma once
// The buffer database's schema, written once: tallyd creates it (buffer/open.cpp), `tallyctl buffer` reads it and the
// benchmark's SQLite program (tools/bench/sqlite_writes.cpp) writes the same rows. A change here is a change of the
// file format: bump kUserVersion and migrate in buffer/open.cpp.
//
//   records  the stream not yet acknowledged (and acknowledged ones kept for replay): seq, RecordKind (record.hpp),
//            topic below the station's base topic, payload as published
//   meta     counters: last_seq (never reused), ...
//   state    the saved context, alarms, counters, remembered command replies: one row per key
#include <string>

#include "record/record.hpp"

namespace tally::buffer_schema {

// meta and state are WITHOUT ROWID so that writing last_seq touches one b-tree, not a table and its key index.
inline constexpr const char* kTables =
    "CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, topic TEXT NOT NULL,"
    " payload TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;";
inline constexpr int kUserVersion = 1;  // PRAGMA user_version once the tables exist

// The one statement that appends a record.
inline constexpr const char* kInsertRecord = "INSERT INTO records(seq, kind, topic, payload) VALUES (?1, ?2, ?3, ?4)";
// Readings are what overflow may drop; `kind` stores RecordKind's value.
inline constexpr int kReadingKind = static_cast<int>(RecordKind::reading);

// The tables created in one transaction, user_version set (a new file, or one whose user_version is older).
inline std::string create_sql() {
  return std::string("BEGIN IMMEDIATE;") + kTables + "PRAGMA user_version = " + std::to_string(kUserVersion) +
         ";COMMIT;";
}

}  // namespace tally::buffer_schema
