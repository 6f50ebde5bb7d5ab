#include "buffer_info.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

#include "buffer/schema.hpp"

namespace tallyctl {

namespace {

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
const std::string kReadingsCount =
    "SELECT count(*) FROM records WHERE kind = " + std::to_string(tally::buffer_schema::kReadingKind);

struct Oldest {
  std::int64_t seq = 0;
  int kind = 0;
  std::string topic, ts;
};

std::optional<std::int64_t> value(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
  std::optional<std::int64_t> v;
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
  return v;
}

std::optional<Oldest> oldest(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT seq, kind, topic, payload FROM records ORDER BY seq LIMIT 1", -1, &s, nullptr) !=
      SQLITE_OK)
    throw std::runtime_error(sqlite3_errmsg(db));
  std::optional<Oldest> o;
  if (sqlite3_step(s) == SQLITE_ROW) {
    o = Oldest{sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1),
               reinterpret_cast<const char*>(sqlite3_column_text(s, 2)), ""};
    const auto payload = nlohmann::json::parse(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)), nullptr, false);
    if (payload.is_object() && payload.contains("ts") && payload["ts"].is_string()) o->ts = payload["ts"];
  }
  sqlite3_finalize(s);
  return o;
}

std::string mib(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::int64_t file_size(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : 0;
}

// Run by root, read as the file's owner: SQLite may create the -shm (and -wal) files of a WAL database even for a
// read-only connection, and root-owned ones would lock tallyd (user tally) out of its own buffer.
void become_owner_of(const std::string& path) {
  struct stat st{};
  if (::geteuid() != 0 || ::stat(path.c_str(), &st) != 0 || st.st_uid == 0) return;
  if (::setgid(st.st_gid) != 0 || ::setuid(st.st_uid) != 0)
    throw std::runtime_error("cannot switch to the owner of " + path + " to read it");
}

}  // namespace

std::string buffer_path_from_config(const std::string& config_path) {
  const std::string fallback = "/var/lib/tally/buffer.db";
  try {
    const auto root = toml::parse_file(config_path);
    return root["buffer"]["path"].value_or(fallback);
  } catch (const std::exception&) {
    return fallback;  // tallyd reports a bad file; the default path is where its buffer then is not, said below
  }
}

int print_buffer(const std::string& path) {
  try {
    if (::access(path.c_str(), F_OK) != 0) {
      std::fprintf(stderr, "tallyctl: no buffer at %s\n", path.c_str());
      return 3;
    }
    become_owner_of(path);
    sqlite3* raw = nullptr;
    // Read-only and through SQLite's locking: safe while tallyd writes (WAL readers never block the writer).
    const std::string uri = "file:" + path + "?mode=ro";
    const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    Db db(raw, &sqlite3_close);
    if (rc != SQLITE_OK) throw std::runtime_error(raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    sqlite3_busy_timeout(raw, 2000);
    // One read transaction: every figure from the same snapshot.
    if (sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(raw));
    const auto count = value(raw, "SELECT count(*) FROM records").value_or(0);
    const auto readings = value(raw, kReadingsCount.c_str()).value_or(0);
    const auto first = value(raw, "SELECT min(seq) FROM records");
    const auto last = value(raw, "SELECT max(seq) FROM records");
    const auto last_seq = value(raw, "SELECT value FROM meta WHERE key = 'last_seq'");
    const auto pages = value(raw, "PRAGMA page_count").value_or(0) * value(raw, "PRAGMA page_size").value_or(0);
    const auto o = oldest(raw);
    sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);

    std::printf("buffer:  %s\n", path.c_str());
    std::printf("depth:   %lld records (%lld readings, %lld others) waiting for the broker\n",
                static_cast<long long>(count), static_cast<long long>(readings),
                static_cast<long long>(count - readings));
    const long long high = std::max(last.value_or(0), last_seq.value_or(0));
    if (first)
      std::printf("seq:     %lld..%lld (last assigned %lld)\n", static_cast<long long>(*first),
                  static_cast<long long>(*last), high);
    else
      std::printf("seq:     none buffered (last assigned %lld)\n", high);
    if (o)
      std::printf("oldest:  seq %lld, %s%s%s on %s\n", static_cast<long long>(o->seq), tally::kind_name(o->kind),
                  o->ts.empty() ? "" : " of ", o->ts.c_str(), o->topic.c_str());
    const auto wal = file_size(path + "-wal");
    std::printf("size:    %s (database %s, WAL %s)\n", mib(file_size(path) + wal).c_str(), mib(pages).c_str(),
                mib(wal).c_str());
    // The space tallyd keeps for getting out of a full disk (daemon/space_reserve.hpp): smaller than 1 MiB, or
    // none, after the disk was full and until it has room again.
    const auto reserve = file_size(path + ".reserve");
    std::printf("reserve: %s of disk space held for a full disk (%s.reserve)\n", mib(reserve).c_str(), path.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tallyctl: cannot read the buffer %s: %s\n", path.c_str(), e.what());
    return 3;
  }
}

}  // namespace tallyctl
