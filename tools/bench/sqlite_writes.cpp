// tally-bench-sqlite: how many bytes does the store-and-forward buffer write to disk per record, and what would
// other commit policies write? A standalone experiment: it replays the buffer's SQL (the tables of
// daemon/buffer/schema.hpp, the statements as daemon/buffer/ runs them) for a stream of records at a given rate,
// each acknowledged by the broker `ack_ms` after it was committed, and reads /proc/self/io before and after.
//
// Policies (what goes into one transaction):
//   per-iteration  what tallyd does today at low rates: a reading arrives in one event-loop iteration and is
//                  committed alone; its PUBACK arrives in another iteration, whose commit deletes it and writes
//                  the seq high-water mark to `meta`. Two transactions per record.
//   ack-with-next  the deletion of acknowledged records (and the meta write) waits for the next commit that
//                  inserts: one transaction per record.
//   lazy-delete-S  one transaction per record for the insert; acknowledged records are deleted in one
//                  transaction every S seconds (a crash before that resends them: at-least-once allows it).
//   group-T        everything that arrived or was acknowledged in the last T ms in one transaction (records are
//                  published only after their commit, so this adds up to T ms of latency).
// Time is simulated by default (no sleeping): WAL appends dirty each page once whatever the pace, and the
// checkpoints' fsyncs clean them, so the bytes are the same; --realtime sleeps to check that.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "buffer/schema.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

struct Io {
  long long wchar = 0, syscw = 0, write_bytes = 0;
};

Io io_self() {
  std::ifstream in("/proc/self/io");
  std::string key;
  long long v = 0;
  Io io;
  while (in >> key >> v) {
    if (key == "wchar:") io.wchar = v;
    if (key == "syscw:") io.syscw = v;
    if (key == "write_bytes:") io.write_bytes = v;
  }
  return io;
}

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error(std::string(what) + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(sql + ": " + e);
  }
}

struct Stmt {
  sqlite3* db;
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* d, const char* sql) : db(d) { check(db, sqlite3_prepare_v2(db, sql, -1, &s, nullptr), sql); }
  ~Stmt() { sqlite3_finalize(s); }
  void run() {
    check(db, sqlite3_step(s), sqlite3_sql(s));
    sqlite3_reset(s);
  }
};

// One transaction: insert seqs [ins_from, ins_to), delete the listed seqs, write meta if anything was deleted.
struct Txn {
  double t_ms;
  long long ins_from, ins_to;
  std::vector<long long> deletes;
};

struct Config {
  std::string policy = "per-iteration";
  double param = 0;   // S seconds or T ms
  double param2 = 0;  // group only: delete acknowledged records every S2 seconds instead of in every group
  double rate = 20;
  long long records = 12000;
  int page_size = 4096;
  bool sync_full = false;
  int payload = 155;
  double ack_ms = 1;
  bool realtime = false;
  bool bound = false;      // after each commit, PRAGMA page_count + freelist_count (tallyd's max_mb check)
  bool exclusive = false;  // PRAGMA locking_mode=EXCLUSIVE (no per-transaction fcntl locks, no -shm file)
  std::string dir;
};

std::vector<Txn> schedule(const Config& c) {
  std::vector<Txn> out;
  const double gap = 1000.0 / c.rate;
  const long long n = c.records;
  if (c.policy == "per-iteration") {
    for (long long i = 0; i < n; ++i) {
      out.push_back({i * gap, i, i + 1, {}});
      out.push_back({i * gap + c.ack_ms, 0, 0, {i}});
    }
  } else if (c.policy == "ack-with-next") {
    for (long long i = 0; i < n; ++i) {
      Txn t{i * gap, i, i + 1, {}};
      if (i > 0) t.deletes.push_back(i - 1);
      out.push_back(t);
    }
  } else if (c.policy == "lazy-delete") {
    const double every = c.param * 1000;
    double next_delete = every;
    long long acked_through = 0;  // deleted below this
    for (long long i = 0; i < n; ++i) {
      const double t = i * gap;
      while (t >= next_delete) {
        Txn d{next_delete, 0, 0, {}};
        // acknowledged by then: every record committed at least ack_ms earlier
        const long long upto = std::min<long long>(n, static_cast<long long>(std::floor((next_delete - c.ack_ms) / gap)) + 1);
        for (long long k = acked_through; k < upto; ++k) d.deletes.push_back(k);
        acked_through = std::max(acked_through, upto);
        out.push_back(d);
        next_delete += every;
      }
      out.push_back({t, i, i + 1, {}});
    }
  } else if (c.policy == "group") {
    const double every = c.param;
    const double delete_every = c.param2 * 1000;
    double next_delete = delete_every;
    long long inserted = 0, acked = 0;
    for (double t = every; inserted < n; t += every) {
      Txn g{t, inserted, 0, {}};
      // arrived by t
      const long long arrived = std::min<long long>(n, static_cast<long long>(std::floor(t / gap)) + 1);
      g.ins_to = arrived;
      // acknowledged by t: committed in an earlier group (at t - every or before) and acked ack_ms later
      if (delete_every <= 0 || t >= next_delete) {
        for (long long k = acked; k < inserted; ++k) g.deletes.push_back(k);
        acked = inserted;
        if (delete_every > 0) next_delete += delete_every;
      }
      inserted = arrived;
      out.push_back(g);
    }
  } else {
    throw std::runtime_error("unknown policy " + c.policy);
  }
  return out;
}

// Not SQLite: an append-only segment file, the floor for any design that must make each record durable-ish on
// its own (a record and an 8-byte acknowledgement marker appended per record; fdatasync per commit with "full").
// The figures every policy reports, from the process's I/O counters before and after its run.
void add_io_figures(json& r, const Config& c, std::size_t transactions, long long payload_bytes, const Io& before,
                    const Io& after) {
  const double wb = static_cast<double>(after.write_bytes - before.write_bytes);
  r["sync"] = c.sync_full ? "full" : "normal";
  r["rate_per_s"] = c.rate;
  r["records"] = c.records;
  r["transactions"] = transactions;
  r["transactions_per_s"] =
      std::round(static_cast<double>(transactions) / (static_cast<double>(c.records) / c.rate) * 10) / 10;
  r["payload_bytes_per_record"] = std::round(static_cast<double>(payload_bytes) / static_cast<double>(c.records));
  r["write_bytes_per_record"] = std::round(wb / static_cast<double>(c.records));
  r["write_bytes_per_payload_byte"] = std::round(wb / static_cast<double>(payload_bytes) * 100) / 100;
  r["wchar_per_record"] = std::round(static_cast<double>(after.wchar - before.wchar) / static_cast<double>(c.records));
  r["write_syscalls_per_record"] =
      std::round(static_cast<double>(after.syscw - before.syscw) / static_cast<double>(c.records) * 100) / 100;
  r["disk_kb_per_day_at_rate"] = std::round(wb / (static_cast<double>(c.records) / c.rate) * 86400 / 1024);
  r["realtime"] = c.realtime;
}

json run_log(const Config& c, const std::vector<Txn>& txns) {
  const std::string path = c.dir + "/exp.log";
  fs::remove(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path);
  const Io before = io_self();
  const auto t_start = std::chrono::steady_clock::now();
  long long payload_bytes = 0;
  for (const auto& t : txns) {
    if (c.realtime)
      std::this_thread::sleep_until(t_start + std::chrono::microseconds(static_cast<long long>(t.t_ms * 1000)));
    std::string buf;
    for (long long s = t.ins_from; s < t.ins_to; ++s) {
      std::string p = "{\"seq\":" + std::to_string(s + 1) + ",\"ts\":\"2026-11-24T21:40:00.123Z\",\"station\":\"bench-disk\"}";
      if (p.size() < static_cast<std::size_t>(c.payload)) p.append(static_cast<std::size_t>(c.payload) - p.size(), ' ');
      payload_bytes += static_cast<long long>(p.size());
      const std::string topic = "readings/d0";
      const unsigned char hdr[4] = {static_cast<unsigned char>(p.size()), static_cast<unsigned char>(p.size() >> 8),
                                    static_cast<unsigned char>(topic.size()), 0};
      buf.append(reinterpret_cast<const char*>(hdr), 4);
      buf += topic;
      buf += p;
      buf.append(8, '\0');  // seq
    }
    for (long long s : t.deletes) buf.append(reinterpret_cast<const char*>(&s), 8);
    if (!buf.empty() && ::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()))
      throw std::runtime_error("write " + path);
    if (c.sync_full) ::fdatasync(fd);
  }
  const Io after = io_self();
  ::close(fd);
  json r;
  r["policy"] = c.policy;
  r["page_size"] = 0;
  add_io_figures(r, c, txns.size(), payload_bytes, before, after);
  return r;
}

json run(const Config& c) {
  if (c.policy == "append-log") {
    Config per = c;
    per.policy = "ack-with-next";
    return run_log(c, schedule(per));
  }
  const std::string path = c.dir + "/exp.db";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
  sqlite3* db = nullptr;
  check(db, sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr),
        "open");
  exec(db, "PRAGMA page_size=" + std::to_string(c.page_size));
  if (c.exclusive) exec(db, "PRAGMA locking_mode=EXCLUSIVE");
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, c.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  exec(db, tally::buffer_schema::create_sql());
  {
    Stmt begin(db, "BEGIN IMMEDIATE"), commit(db, "COMMIT");
    Stmt insert(db, tally::buffer_schema::kInsertRecord);
    Stmt del(db, "DELETE FROM records WHERE seq = ?1");
    Stmt meta(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_seq', ?1)");
    Stmt page_count(db, "PRAGMA page_count"), freelist_count(db, "PRAGMA freelist_count");
    // tallyd's payload shape, padded to the measured size
    auto payload = [&](long long seq) {
      std::string p = "{\"seq\":" + std::to_string(seq) +
                      ",\"ts\":\"2026-11-24T21:40:00.123Z\",\"station\":\"bench-disk\",\"device\":\"d0\","
                      "\"quantity\":\"temperature\",\"value\":" +
                      std::to_string(100000 + seq) + ".0,\"unit\":\"degC\"";
      if (p.size() + 1 < static_cast<std::size_t>(c.payload)) p.append(static_cast<std::size_t>(c.payload) - p.size() - 1, ' ');
      return p + "}";
    };
    const auto txns = schedule(c);
    // Warm-up outside the measurement: the first records create the b-tree's first pages.
    const Io before = io_self();
    const auto t_start = std::chrono::steady_clock::now();
    long long max_seq = 0, payload_bytes = 0;
    std::vector<double> txn_us;  // how long each transaction took: the automatic checkpoints stand out
    txn_us.reserve(txns.size());
    for (const auto& t : txns) {
      if (c.realtime)
        std::this_thread::sleep_until(t_start + std::chrono::microseconds(static_cast<long long>(t.t_ms * 1000)));
      const auto t0 = std::chrono::steady_clock::now();
      begin.run();
      for (long long s = t.ins_from; s < t.ins_to; ++s) {
        const std::string p = payload(s + 1);
        payload_bytes += static_cast<long long>(p.size());
        sqlite3_bind_int64(insert.s, 1, s + 1);
        sqlite3_bind_int(insert.s, 2, tally::buffer_schema::kReadingKind);
        sqlite3_bind_text(insert.s, 3, "readings/d0", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert.s, 4, p.data(), static_cast<int>(p.size()), SQLITE_TRANSIENT);
        insert.run();
        max_seq = s + 1;
      }
      for (long long s : t.deletes) {
        sqlite3_bind_int64(del.s, 1, s + 1);
        del.run();
      }
      if (!t.deletes.empty()) {
        sqlite3_bind_int64(meta.s, 1, max_seq);
        meta.run();
      }
      commit.run();
      if (c.bound) {
        page_count.run();
        freelist_count.run();
      }
      txn_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    const Io after = io_self();
    json r;
    r["policy"] = c.policy + (c.param > 0 ? "-" + std::to_string(static_cast<long long>(c.param)) : "") +
                  (c.param2 > 0 ? "/del-" + std::to_string(static_cast<long long>(c.param2)) + "s" : "") +
                  (c.bound ? "+bound" : "") + (c.exclusive ? "+excl" : "");
    r["page_size"] = c.page_size;
    add_io_figures(r, c, txns.size(), payload_bytes, before, after);
    if (!c.realtime) r["us_per_record"] = std::round(elapsed_s / static_cast<double>(c.records) * 1e6 * 10) / 10;
    std::sort(txn_us.begin(), txn_us.end());
    auto pct = [&](double p) { return std::round(txn_us[std::min(txn_us.size() - 1, static_cast<std::size_t>(p / 100 * static_cast<double>(txn_us.size())))]); };
    r["transaction_us_p50"] = pct(50);
    r["transaction_us_p99"] = pct(99);
    r["transaction_us_max"] = std::round(txn_us.back());
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_close(db);
    db = nullptr;
    return r;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config base;
  std::string out;
  bool all = true;
  std::vector<Config> chosen;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--rate") base.rate = std::stod(value());
    else if (a == "--records") base.records = std::stoll(value());
    else if (a == "--payload") base.payload = std::stoi(value());
    else if (a == "--dir") base.dir = value();
    else if (a == "--realtime") base.realtime = true;
    else if (a == "--out") out = value();
    else if (a == "--policy") {
      // NAME[:PARAM][@PAGE_SIZE][/full]
      std::string spec = value();
      Config c = base;
      for (const std::string flag : {"+bound", "+excl"})
        if (auto at = spec.find(flag); at != std::string::npos) {
          (flag == "+bound" ? c.bound : c.exclusive) = true;
          spec.erase(at, flag.size());
        }
      if (auto slash = spec.find("/full"); slash != std::string::npos) {
        c.sync_full = true;
        spec.erase(slash);
      }
      if (auto at = spec.find('@'); at != std::string::npos) {
        c.page_size = std::stoi(spec.substr(at + 1));
        spec.erase(at);
      }
      if (auto colon = spec.find(':'); colon != std::string::npos) {
        const std::string params = spec.substr(colon + 1);
        c.param = std::stod(params);
        if (auto second = params.find(':'); second != std::string::npos) c.param2 = std::stod(params.substr(second + 1));
        spec.erase(colon);
      }
      c.policy = spec;
      chosen.push_back(c);
      all = false;
    } else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: tally-bench-sqlite [--rate R] [--records N] [--payload BYTES] [--dir DIR] [--realtime]\n"
          "                          [--out FILE.json] [--policy NAME[:PARAM[:PARAM2]][@PAGE_SIZE][/full]]...\n"
          "policies: per-iteration (tallyd today), ack-with-next, lazy-delete:SECONDS, append-log (not SQLite),\n"
          "          group:MILLISECONDS[:DELETE_EVERY_SECONDS]; +bound runs tallyd's page_count/freelist_count\n"
          "          check after each commit, +excl sets locking_mode=EXCLUSIVE\n"
          "default: a set of policies at 20 records/s, 12000 records, 155-byte payloads, in a new dir in /var/tmp\n");
      return 0;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 64;
    }
  }
  bool made_dir = false;
  if (base.dir.empty()) {
    char tmpl[] = "/var/tmp/tally-bench-sqlite-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    base.dir = tmpl;
    made_dir = true;
  }
  if (all) {
    auto add = [&](std::string policy, double param, int page, bool full, double param2 = 0) {
      Config c = base;
      c.policy = std::move(policy);
      c.param = param;
      c.param2 = param2;
      c.page_size = page;
      c.sync_full = full;
      chosen.push_back(c);
    };
    add("per-iteration", 0, 4096, false);
    chosen.back().bound = true;
    add("per-iteration", 0, 4096, true);
    chosen.back().bound = true;
    add("per-iteration", 0, 4096, false);
    add("per-iteration", 0, 4096, false);
    chosen.back().exclusive = true;
    add("ack-with-next", 0, 4096, false);
    add("lazy-delete", 10, 4096, false);
    add("group", 100, 4096, false);
    add("group", 250, 4096, false);
    add("group", 1000, 4096, false);
    add("group", 5000, 4096, false);
    add("per-iteration", 0, 1024, false);
    add("ack-with-next", 0, 1024, false);
    add("ack-with-next", 0, 512, false);
    add("group", 1000, 1024, false);
    add("group", 1000, 4096, true);
    add("group", 1000, 4096, false, 60);
    add("group", 1000, 1024, false, 60);
    add("group", 2000, 1024, false, 60);
    add("lazy-delete", 60, 512, false);
    add("group", 5000, 1024, false, 60);
    add("append-log", 0, 0, false);
    add("append-log", 0, 0, true);
  }
  json results = json::array();
  std::printf("| policy | page | sync | txn/s | payload B | written B/record | B per payload B | wchar B/record | "
              "MB/day | us/record | txn us p50 / p99 / max |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (auto& c : chosen) {
    for (auto& d : chosen) d.dir = base.dir;
    c.dir = base.dir;
    json r;
    try {
      r = run(c);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", c.policy.c_str(), e.what());
      return 1;
    }
    std::printf("| %s | %d | %s | %.1f | %.0f | %.0f | %.2f | %.0f | %.1f | %s | %s |\n", r["policy"].get<std::string>().c_str(),
                c.page_size, c.sync_full ? "full" : "normal", r["transactions_per_s"].get<double>(),
                r["payload_bytes_per_record"].get<double>(), r["write_bytes_per_record"].get<double>(),
                r["write_bytes_per_payload_byte"].get<double>(), r["wchar_per_record"].get<double>(),
                r["disk_kb_per_day_at_rate"].get<double>() / 1024,
                r.contains("us_per_record") ? r["us_per_record"].dump().c_str() : "-",
                r.contains("transaction_us_p50")
                    ? (r["transaction_us_p50"].dump() + " / " + r["transaction_us_p99"].dump() + " / " + r["transaction_us_max"].dump()).c_str()
                    : "-");
    std::fflush(stdout);
    results.push_back(r);
  }
  if (!out.empty()) {
    std::ofstream f(out);
    f << json{{"rate_per_s", base.rate}, {"records", base.records}, {"results", results}}.dump(2) << "\n";
  }
  if (made_dir) fs::remove_all(base.dir);
  return 0;
}
