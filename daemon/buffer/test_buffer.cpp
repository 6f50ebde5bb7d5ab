// The store-and-forward buffer against real SQLite files in a temporary directory.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "buffer/buffer.hpp"
#include "buffer/buffer_error.hpp"
#include "support/small_fs.hpp"
#include "support/temp_dir.hpp"

using namespace tally;
using tally::test::TempDir;

namespace {

Record reading(int i) {
  return {RecordKind::reading, "readings/kettle",
          json{{"ts", "2026-11-24T10:15:02.123Z"}, {"station", "kitchen-1"}, {"device", "kettle"},
               {"quantity", "temperature"}, {"value", 20.0 + i}, {"unit", "degC"}, {"batch", "B-0042"},
               {"recipe", "castile-soap"}, {"step", "saponify"}, {"step_no", 3}}};
}

Record event(int i) {
  return {RecordKind::event, "events",
          json{{"ts", "2026-11-24T10:15:02.123Z"}, {"station", "kitchen-1"}, {"event", "operator.changed"},
               {"operator", "op-" + std::to_string(i)}, {"batch", "B-0042"}, {"recipe", "castile-soap"}}};
}

BufferOptions options(const std::string& path, std::uint64_t max_bytes = 256ull << 20) {
  BufferOptions o;
  o.path = path;
  o.max_bytes = max_bytes;
  return o;
}

std::vector<Seq> seqs_of(const std::vector<StoredRecord>& records) {
  std::vector<Seq> out;
  for (const auto& r : records) out.push_back(r.seq);
  return out;
}

std::vector<Seq> range(Seq first, Seq last) {
  std::vector<Seq> out;
  for (Seq s = first; s <= last; ++s) out.push_back(s);
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A second connection to the buffer's file, as another process would have.
struct Connection {
  explicit Connection(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~Connection() { sqlite3_close(db); }
  void exec(const char* sql) { REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK); }
  std::vector<Seq> seqs() {  // what the file holds, whatever the buffer keeps in memory
    std::vector<Seq> out;
    auto add = [](void* to, int, char** values, char**) {
      static_cast<std::vector<Seq>*>(to)->push_back(std::stoll(values[0]));
      return 0;
    };
    REQUIRE(sqlite3_exec(db, "SELECT seq FROM records ORDER BY seq", add, &out, nullptr) == SQLITE_OK);
    return out;
  }
  sqlite3* db = nullptr;
};

}  // namespace

TEST_CASE("seq starts at 1 and goes up by one, and read_after returns committed records in order") {
  TempDir dir;
  Buffer buffer(options(dir.file("buffer.db")));
  REQUIRE(buffer.last_committed_seq() == 0);

  REQUIRE(buffer.append(reading(1)) == 1);
  REQUIRE(buffer.append(event(2)) == 2);
  REQUIRE(buffer.append(reading(3)) == 3);
  CHECK(buffer.pending() == 3);
  CHECK(buffer.read_after(0, 100).empty());  // nothing before commit
  CHECK(buffer.count() == 0);

  CHECK_FALSE(buffer.commit().has_value());
  CHECK(buffer.pending() == 0);
  CHECK(buffer.count() == 3);
  CHECK(buffer.last_committed_seq() == 3);

  const auto records = buffer.read_after(0, 100);
  REQUIRE(seqs_of(records) == std::vector<Seq>{1, 2, 3});
  CHECK(records[0].kind == RecordKind::reading);
  CHECK(records[0].topic == "readings/kettle");
  CHECK(records[1].kind == RecordKind::event);
  CHECK(records[1].topic == "events");
  for (const auto& r : records) {
    CHECK(r.payload.rfind("{\"seq\":" + std::to_string(r.seq) + ",", 0) == 0);
  }
  const auto first = json::parse(records[0].payload);
  CHECK(first["seq"] == 1);
  CHECK(first["device"] == "kettle");
  CHECK(first["value"] == 21.0);
  CHECK(first["step_no"] == 3);
  CHECK(json::parse(records[1].payload)["event"] == "operator.changed");

  CHECK(seqs_of(buffer.read_after(1, 1)) == std::vector<Seq>{2});
  CHECK(buffer.read_after(3, 100).empty());
  REQUIRE(buffer.append(event(4)) == 4);
}

TEST_CASE("seq survives reopening, also after every record was acknowledged and deleted") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    for (int i = 0; i < 5; ++i) buffer.append(reading(i));
    buffer.commit();
  }
  {
    Buffer buffer(options(path));
    CHECK(buffer.count() == 5);
    CHECK(buffer.last_committed_seq() == 5);
    REQUIRE(buffer.append(event(6)) == 6);
    buffer.commit();
    for (Seq s = 1; s <= 6; ++s) buffer.acknowledge(s);
    buffer.commit(true);
    CHECK(buffer.count() == 0);
    CHECK(buffer.read_after(0, 100).empty());
  }
  {
    Buffer buffer(options(path));
    CHECK(buffer.count() == 0);
    CHECK(buffer.last_committed_seq() == 6);
    REQUIRE(buffer.append(reading(7)) == 7);
    buffer.commit();
  }
  Buffer buffer(options(path));
  CHECK(seqs_of(buffer.read_after(0, 100)) == std::vector<Seq>{7});
  CHECK(buffer.append(reading(8)) == 8);
}

TEST_CASE("a burst of 500 appends is written in one transaction") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    for (int i = 0; i < 500; ++i) buffer.append(i % 10 == 0 ? event(i) : reading(i));
    CHECK(buffer.stats().transactions == 0);
    buffer.commit();
    CHECK(buffer.stats().transactions == 1);
    CHECK(buffer.stats().appended == 500);
    CHECK_FALSE(buffer.commit().has_value());  // nothing queued: no transaction
    CHECK(buffer.stats().transactions == 1);
  }
  Buffer buffer(options(path));
  CHECK(buffer.count() == 500);
  CHECK(seqs_of(buffer.read_after(0, 1000)) == range(1, 500));
}

TEST_CASE("acknowledged records are deleted on commit, and unknown seqs are ignored") {
  TempDir dir;
  Buffer buffer(options(dir.file("buffer.db")));
  for (int i = 0; i < 10; ++i) buffer.append(reading(i));
  buffer.commit();

  for (Seq s : {2, 3, 7, 3, 999, -1}) buffer.acknowledge(s);
  CHECK(buffer.pending() == 3);  // 999 and -1 were never committed
  // Acknowledged records are no longer buffered nor read again, though their deletion waits.
  CHECK(buffer.count() == 7);
  CHECK(seqs_of(buffer.read_after(0, 100)) == std::vector<Seq>{1, 4, 5, 6, 8, 9, 10});
  CHECK_FALSE(buffer.commit().has_value());
  CHECK(buffer.stats().acknowledged == 0);  // alone they are not worth a transaction yet
  buffer.commit(true);
  CHECK(buffer.pending() == 0);
  CHECK(buffer.count() == 7);
  CHECK(buffer.stats().acknowledged == 3);
  CHECK(seqs_of(buffer.read_after(0, 100)) == std::vector<Seq>{1, 4, 5, 6, 8, 9, 10});

  buffer.acknowledge(12345);
  REQUIRE_NOTHROW(buffer.commit());
  CHECK(buffer.count() == 7);
  CHECK(buffer.append(reading(11)) == 11);
}

TEST_CASE("just-committed records are served from memory, the backlog from the file, and both read the same") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  std::vector<StoredRecord> from_memory;
  // More records than kRecentBound holds: the oldest ones are only in the file.
  const int total = static_cast<int>(Buffer::kRecentBound / 150) + 2000;
  {
    Buffer buffer(options(path));
    for (int i = 1; i <= total; ++i) {
      buffer.append(i % 7 == 0 ? event(i) : reading(i));
      if (i % 100 == 0) buffer.commit();
    }
    buffer.commit();
    for (Seq s : {Seq{total - 10}, Seq{total - 12}}) buffer.acknowledge(s);

    // The publisher's usual question (what came after what I sent): no file read.
    const auto reads = buffer.file_reads();
    from_memory = buffer.read_after(total - 20, 100);
    CHECK(seqs_of(buffer.read_after(total - 1, 20)) == std::vector<Seq>{total});
    CHECK(buffer.read_after(total, 20).empty());
    CHECK(buffer.file_reads() == reads);
    CHECK(seqs_of(from_memory).size() == 18);  // 20 minus the two acknowledged

    // From the start: the file, then memory, with no seq missing or repeated at the seam.
    std::vector<Seq> all;
    for (Seq after = 0;;) {
      const auto chunk = buffer.read_after(after, 20);
      if (chunk.empty()) break;
      for (const auto& r : chunk) all.push_back(r.seq);
      after = chunk.back().seq;
    }
    CHECK(buffer.file_reads() > reads);
    std::vector<Seq> expected = range(1, total);
    std::erase_if(expected, [&](Seq s) { return s == total - 10 || s == total - 12; });
    CHECK(all == expected);
    buffer.commit(true);
  }
  // The same records, read back from the file by a new buffer.
  Buffer reopened(options(path));
  const auto from_file = reopened.read_after(total - 20, 100);
  REQUIRE(from_file.size() == from_memory.size());
  for (std::size_t i = 0; i < from_file.size(); ++i) {
    CHECK(from_file[i].seq == from_memory[i].seq);
    CHECK(from_file[i].kind == from_memory[i].kind);
    CHECK(from_file[i].topic == from_memory[i].topic);
    CHECK(from_file[i].payload == from_memory[i].payload);
  }
  CHECK(reopened.file_reads() == 1);
}

TEST_CASE("overflow drops the oldest readings only, and says which") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  const std::uint64_t bound = 64 * 1024;
  std::set<Seq> events;
  std::set<Seq> readings;
  std::vector<Overflow> overflows;
  const int total = 600;
  {
    Buffer buffer(options(path, bound));
    for (int i = 1; i <= total; ++i) {
      if (i % 5 == 0) {
        events.insert(buffer.append(event(i)));
      } else {
        readings.insert(buffer.append(reading(i)));
      }
      if (i % 10 == 0) {
        if (auto o = buffer.commit()) overflows.push_back(*o);
        REQUIRE(buffer.used_bytes() <= bound);
      }
    }
    REQUIRE_FALSE(overflows.empty());

    const auto stored = seqs_of(buffer.read_after(0, 10000));
    const std::set<Seq> present(stored.begin(), stored.end());
    CHECK(buffer.count() == static_cast<std::int64_t>(present.size()));
    for (Seq e : events) CHECK(present.count(e) == 1);  // never an event

    std::vector<Seq> missing;
    for (Seq s = 1; s <= total; ++s)
      if (present.count(s) == 0) missing.push_back(s);
    std::int64_t announced = 0;
    Seq previous_last = 0;
    for (const auto& o : overflows) {
      CHECK(o.first_seq > previous_last);
      CHECK(o.first_seq <= o.last_seq);
      const auto in_range = std::count_if(missing.begin(), missing.end(),
                                          [&](Seq s) { return s >= o.first_seq && s <= o.last_seq; });
      CHECK(in_range == o.dropped);
      CHECK(readings.count(o.first_seq) == 1);
      CHECK(readings.count(o.last_seq) == 1);
      announced += o.dropped;
      previous_last = o.last_seq;
    }
    CHECK(announced == static_cast<std::int64_t>(missing.size()));
    CHECK(buffer.stats().dropped == missing.size());
    // Oldest first: every reading still held is newer than every dropped one.
    for (Seq s : present)
      if (readings.count(s) == 1) CHECK(s > missing.back());

    CHECK(buffer.append(reading(total + 1)) == total + 1);
    buffer.commit();
  }
  Buffer buffer(options(path, bound));
  CHECK(buffer.last_committed_seq() == total + 1);
  CHECK(buffer.append(reading(total + 2)) == total + 2);
}

TEST_CASE("overflow with only events left drops every reading, the newest too, and never reuses its seq") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  const std::uint64_t bound = 64 * 1024;
  {
    Buffer buffer(options(path, bound));
    for (int i = 1; i <= 400; ++i) buffer.append(event(i));
    CHECK_FALSE(buffer.commit().has_value());  // above the bound, but events are never dropped
    CHECK(buffer.used_bytes() > bound);
    for (int i = 401; i <= 405; ++i) buffer.append(reading(i));
    const auto overflow = buffer.commit();
    REQUIRE(overflow.has_value());
    CHECK(overflow->first_seq == 401);
    CHECK(overflow->last_seq == 405);
    CHECK(overflow->dropped == 5);
    CHECK(buffer.count() == 400);
    CHECK(seqs_of(buffer.read_after(0, 1000)) == range(1, 400));
  }
  Buffer buffer(options(path, bound));
  CHECK(buffer.last_committed_seq() == 405);
  CHECK(buffer.append(event(406)) == 406);
}

TEST_CASE("a corrupt database is moved aside and a new one started") {
  TempDir dir;
  const auto path = dir.file("buffer.db");

  SECTION("a file that is not a database") {
    std::string garbage;
    while (garbage.size() < 8192) garbage += "not a database ";
    dir.write("buffer.db", garbage);

    std::string first_move;
    {
      Buffer buffer(options(path));
      REQUIRE(buffer.recovered().has_value());
      const Recovery& r = *buffer.recovered();
      CHECK(r.moved_to.rfind(path + ".corrupt-", 0) == 0);
      CHECK_FALSE(r.reason.empty());
      CHECK_FALSE(r.seq_recovered);
      CHECK(slurp(r.moved_to) == garbage);
      first_move = r.moved_to;

      REQUIRE(buffer.append(event(1)) == 1);
      buffer.commit();
      CHECK(seqs_of(buffer.read_after(0, 10)) == std::vector<Seq>{1});
    }
    {
      Buffer buffer(options(path));  // the new database is fine
      CHECK_FALSE(buffer.recovered().has_value());
      CHECK(buffer.count() == 1);
    }

    // Damaged again, possibly within the same second: the first copy is not overwritten.
    dir.write("buffer.db", garbage);
    Buffer buffer(options(path));
    REQUIRE(buffer.recovered().has_value());
    CHECK(buffer.recovered()->moved_to != first_move);
    CHECK(slurp(first_move) == garbage);
    CHECK(slurp(buffer.recovered()->moved_to) == garbage);
  }

  SECTION("a database with damaged pages") {
    {
      Buffer buffer(options(path));
      for (int i = 0; i < 300; ++i) buffer.append(reading(i));
      buffer.commit();
      for (Seq s = 295; s <= 300; ++s) buffer.acknowledge(s);  // the high-water mark is now only in meta
      buffer.commit();
    }
    const auto size = std::filesystem::file_size(path);
    const std::uintmax_t page = 4096;
    REQUIRE(size >= 10 * page);
    {
      // Scribble over the header of a leaf page in the middle of the records table.
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>((size / page / 2) * page));
      const std::string scribble(16, '\xff');
      f.write(scribble.data(), static_cast<std::streamsize>(scribble.size()));
    }
    const auto damaged = slurp(path);

    Buffer buffer(options(path));
    REQUIRE(buffer.recovered().has_value());
    CHECK(slurp(buffer.recovered()->moved_to) == damaged);
    INFO(buffer.recovered()->reason);
    REQUIRE(buffer.recovered()->seq_recovered);
    // What could be read came across (seq 1..294 were unacknowledged); what could not is named.
    const Recovery& r = *buffer.recovered();
    std::int64_t unsaved = 0;
    for (const auto& range : r.unsaved) unsaved += range.last_seq - range.first_seq + 1;
    CHECK(r.salvaged > 200);
    CHECK(r.salvaged + unsaved >= 294);
    CHECK(buffer.count() == r.salvaged);
    const auto salvaged = buffer.read_after(0, 1000);
    for (const auto& record : salvaged) CHECK(json::parse(record.payload)["seq"] == record.seq);
    // seq continues above everything that was reserved, never at 1 or inside the damaged range.
    CHECK(buffer.last_committed_seq() == Buffer::kSeqBlock);
    REQUIRE(buffer.append(reading(301)) == Buffer::kSeqBlock + 1);
    buffer.commit();
    CHECK(buffer.read_after(0, 1000).back().seq == Buffer::kSeqBlock + 1);
  }
}

TEST_CASE("a failed commit keeps everything queued for the next one") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  Buffer buffer(options(path));
  buffer.append(reading(1));
  buffer.append(reading(2));
  buffer.commit();

  buffer.append(reading(3));
  buffer.append(event(4));
  buffer.append(reading(5));
  buffer.acknowledge(1);
  REQUIRE(buffer.pending() == 4);

  SECTION("another connection holds the write lock") {
    {
      Connection other(path);
      other.exec("BEGIN EXCLUSIVE");
      try {
        buffer.commit();
        FAIL("commit succeeded while the database was locked");
      } catch (const buffer_error& e) {
        CHECK((e.sqlite_code & 0xff) == SQLITE_BUSY);
      }
      CHECK(buffer.pending() == 4);
      CHECK(buffer.count() == 1);  // seq 2; seq 1 is acknowledged, its deletion still queued
      CHECK(buffer.last_committed_seq() == 2);
      CHECK(buffer.stats().transactions == 1);
      CHECK(buffer.append(reading(6)) == 6);  // appends go on while the disk is unavailable
      other.exec("ROLLBACK");
    }
    buffer.commit();
    CHECK(buffer.pending() == 0);
    CHECK(buffer.count() == 5);
    CHECK(buffer.last_committed_seq() == 6);
  }

  SECTION("an insert fails half-way through the transaction") {
    {
      Connection other(path);
      other.exec("INSERT INTO records(seq, kind, topic, payload) VALUES (4, 3, 'events', 'intruder')");
      REQUIRE_THROWS_AS(buffer.commit(), buffer_error);
      // Rolled back: seq 3 went in before the failure and is gone again (seq 1's deletion is still queued).
      CHECK(other.seqs() == std::vector<Seq>{1, 2, 4});
      CHECK(seqs_of(buffer.read_after(0, 10)) == std::vector<Seq>{2});
      CHECK(buffer.pending() == 4);
      CHECK(buffer.count() == 1);
      other.exec("DELETE FROM records WHERE seq = 4");
    }
    buffer.commit();
    CHECK(buffer.count() == 4);
  }

  const auto records = buffer.read_after(0, 10);
  REQUIRE(seqs_of(records).front() == 2);
  for (const auto& r : records) CHECK(json::parse(r.payload)["seq"] == r.seq);
  CHECK(seqs_of(records) == range(2, buffer.last_committed_seq()));
}

TEST_CASE("missing directories are created, and a path that cannot be created throws") {
  TempDir dir;
  Buffer buffer(options(dir.file("var/lib/tally/buffer.db")));
  buffer.append(event(1));
  buffer.commit();
  CHECK(std::filesystem::exists(dir.file("var/lib/tally/buffer.db")));

  const auto file = dir.write("not-a-directory", "x");
  CHECK_THROWS_AS(Buffer(options(file + "/buffer.db")), buffer_error);
}

TEST_CASE("deletions ride along with the next commit that writes records, in the same transaction") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    buffer.append(reading(1));
    buffer.append(reading(2));
    buffer.commit();
    buffer.acknowledge(1);
    buffer.commit();
    CHECK(buffer.stats().transactions == 1);
    buffer.append(reading(3));
    buffer.commit();
    CHECK(buffer.stats().transactions == 2);
    CHECK(buffer.stats().acknowledged == 1);
  }
  Buffer buffer(options(path));
  CHECK(seqs_of(buffer.read_after(0, 10)) == std::vector<Seq>{2, 3});
}

TEST_CASE("many waiting acknowledgements are written without waiting for a record") {
  TempDir dir;
  Buffer buffer(options(dir.file("buffer.db")));
  for (std::size_t i = 0; i < Buffer::kAckBatch; ++i) buffer.append(reading(static_cast<int>(i)));
  buffer.commit();
  for (Seq s = 1; s < static_cast<Seq>(Buffer::kAckBatch); ++s) buffer.acknowledge(s);
  CHECK_FALSE(buffer.commit().has_value());
  CHECK(buffer.stats().acknowledged == 0);
  buffer.acknowledge(static_cast<Seq>(Buffer::kAckBatch));
  buffer.commit();
  CHECK(buffer.stats().acknowledged == Buffer::kAckBatch);
  CHECK(buffer.count() == 0);
}

TEST_CASE("state is committed with the records queued beside it and survives reopening") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    CHECK_FALSE(buffer.get_state("context").has_value());
    buffer.append(event(1));
    buffer.put_state("context", R"({"batch":"B-1"})");
    CHECK(buffer.get_state("context") == std::optional<std::string>(R"({"batch":"B-1"})"));  // queued is visible
    buffer.commit();
    buffer.put_state("context", R"({"batch":"B-2"})");
    // Not committed: a crash now leaves B-1, which is what the committed events describe.
  }
  {
    Buffer buffer(options(path));
    CHECK(buffer.get_state("context") == std::optional<std::string>(R"({"batch":"B-1"})"));
    buffer.put_state("context", R"({"batch":"B-3"})");
    CHECK(buffer.pending() == 0);  // state alone is not a record
    buffer.commit();
  }
  Buffer buffer(options(path));
  CHECK(buffer.get_state("context") == std::optional<std::string>(R"({"batch":"B-3"})"));
  CHECK(buffer.count() == 1);
}

TEST_CASE("seq jumps ahead, and says so, only after an unclean end in an earlier boot") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    buffer.append(reading(1));
    buffer.append(reading(2));
    buffer.mark_clean_shutdown();
  }
  {
    Buffer buffer(options(path));  // after a clean stop: no skip
    CHECK_FALSE(buffer.seq_skipped().has_value());
    CHECK(buffer.append(reading(3)) == 3);
    buffer.commit();
  }  // no clean mark: the process died (kill -9) and the page cache kept every commit
  {
    Buffer buffer(options(path));  // same boot: no skip
    CHECK_FALSE(buffer.seq_skipped().has_value());
    CHECK(buffer.append(reading(4)) == 4);
    buffer.commit();
  }
  {  // the machine lost power and booted again: the note left at open names another boot
    Connection other(path);
    other.exec("UPDATE state SET value = 'another-boot-id running' WHERE key = 'shutdown'");
  }
  {
    Buffer buffer(options(path));
    REQUIRE(buffer.seq_skipped().has_value());
    CHECK(buffer.seq_skipped()->first_seq == 5);
    CHECK(buffer.seq_skipped()->last_seq == 4 + Buffer::kPowerLossMargin);
    CHECK(buffer.append(reading(5)) == 5 + Buffer::kPowerLossMargin);
    buffer.commit();
  }
  {  // a second power cut before anything else: the skip is already durable
    Connection other(path);
    other.exec("UPDATE state SET value = 'a-third-boot-id running' WHERE key = 'shutdown'");
  }
  Buffer buffer(options(path));
  CHECK(buffer.append(reading(6)) == 6 + 2 * Buffer::kPowerLossMargin);
  CHECK(seqs_of(buffer.read_after(0, 10)) == std::vector<Seq>{1, 2, 3, 4, 5 + Buffer::kPowerLossMargin});
}

namespace {

// A buffer that was used (records up to seq 50 committed, 1..10 acknowledged, a saved context), then closed.
void fill(const std::string& path) {
  Buffer buffer(options(path));
  for (int i = 1; i <= 50; ++i) buffer.append(i % 10 == 0 ? event(i) : reading(i));
  buffer.put_state("context", R"({"batch":"B-7"})");
  buffer.commit();
  for (Seq s = 1; s <= 10; ++s) buffer.acknowledge(s);
  buffer.commit(true);
}

void overwrite(const std::string& path, std::streamoff at, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(at);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

// Issue #13 item 2: each of these restarted seq at 1 (the empty file without a word), so consumers deduplicating
// on (station, seq) discarded the new records.
TEST_CASE("after any damage to the database seq continues above every seq given out") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  fill(path);
  REQUIRE(std::filesystem::exists(path + ".seq"));
  CHECK(slurp(path + ".seq") == "reserved " + std::to_string(Buffer::kSeqBlock) + "\n");
  const auto size = std::filesystem::file_size(path);
  REQUIRE(size > 4096);

  SECTION("a 0-byte file") {
    std::filesystem::resize_file(path, 0);
    std::filesystem::remove(path + "-wal");
  }
  SECTION("a truncated file") { std::filesystem::resize_file(path, size / 3); }
  SECTION("a garbage header") { overwrite(path, 0, std::string(100, 'x')); }
  SECTION("a damaged first page (the schema)") { overwrite(path, 100, std::string(900, '\xff')); }
  SECTION("a missing file") {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
  }

  Buffer buffer(options(path));
  REQUIRE(buffer.recovered().has_value());
  const Recovery& r = *buffer.recovered();
  INFO(r.reason);
  CHECK(r.seq_recovered);
  CHECK(buffer.last_committed_seq() >= 50);
  CHECK(buffer.append(event(51)) > 50);
  buffer.commit();
  // Whatever was not salvaged is named: every unacknowledged seq (11..50) was saved or lies in an unsaved range.
  std::set<Seq> saved;
  for (const auto& record : buffer.read_after(0, 1000)) saved.insert(record.seq);
  for (Seq s = 11; s <= 50; ++s) {
    bool named = saved.count(s) > 0;
    for (const auto& range : r.unsaved) named = named || (s >= range.first_seq && s <= range.last_seq);
    INFO("seq " << s);
    CHECK(named);
  }
}

TEST_CASE("a damaged records table is salvaged around the damage, with the saved state documents") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    for (int i = 1; i <= 2000; ++i) buffer.append(reading(i));
    buffer.put_state("context", R"({"batch":"B-9"})");
    buffer.put_state("counters", R"({"eye":12})");
    buffer.mark_clean_shutdown();
  }
  const auto size = std::filesystem::file_size(path);
  // 1 KiB pages: scribble over one leaf page of the records table well inside the file.
  overwrite(path, static_cast<std::streamoff>((size / 1024 / 2) * 1024), std::string(24, '\xff'));

  Buffer buffer(options(path));
  REQUIRE(buffer.recovered().has_value());
  const Recovery& r = *buffer.recovered();
  CHECK(r.salvaged > 1900);
  CHECK(r.salvaged < 2000);
  REQUIRE_FALSE(r.unsaved.empty());
  std::int64_t unsaved = 0;
  for (const auto& range : r.unsaved) unsaved += range.last_seq - range.first_seq + 1;
  CHECK(r.salvaged + unsaved >= 2000);
  CHECK(buffer.get_state("context") == std::optional<std::string>(R"({"batch":"B-9"})"));
  CHECK(buffer.get_state("counters") == std::optional<std::string>(R"({"eye":12})"));
  CHECK(std::find(r.salvaged_states.begin(), r.salvaged_states.end(), "context") != r.salvaged_states.end());
  // Records after the damage came across too, in order and intact.
  const auto records = buffer.read_after(0, 5000);
  CHECK(records.back().seq == 2000);
  for (const auto& record : records) CHECK(json::parse(record.payload)["seq"] == record.seq);
}

TEST_CASE("the seq reservation file is written ahead, atomically, and a damaged one is rebuilt from the database") {
  TempDir dir;
  const auto path = dir.file("buffer.db");
  {
    Buffer buffer(options(path));
    for (Seq s = 1; s <= Buffer::kSeqBlock + 5; ++s) buffer.append(reading(static_cast<int>(s)));
    buffer.commit();
    CHECK(buffer.reserved_seq() == 2 * Buffer::kSeqBlock + 4);
    CHECK(slurp(path + ".seq") == "reserved " + std::to_string(2 * Buffer::kSeqBlock + 4) + "\n");
    CHECK_FALSE(std::filesystem::exists(path + ".seq.tmp"));
  }
  dir.write("buffer.db.seq", "garbage");
  {
    Buffer buffer(options(path));  // the database is fine: it knows the high-water mark
    CHECK_FALSE(buffer.recovered().has_value());
    CHECK(buffer.append(reading(0)) == Buffer::kSeqBlock + 6);
    buffer.commit();
  }
  CHECK(slurp(path + ".seq") == "reserved " + std::to_string(2 * Buffer::kSeqBlock + 5) + "\n");
}

// Issue #13 item 1: with the disk full, every retry re-inserted the whole backlog in one transaction that also
// carried the acknowledgements, so nothing could be deleted, memory grew without bound, and freeing a little space
// did not help.
TEST_CASE("a full disk: acknowledgements commit first, memory stays bounded, a few free pages are enough to recover") {
  test::SmallFilesystem fs(8u << 20);
  const auto path = fs.file("buffer.db");
  Buffer buffer(options(path));
  for (int i = 1; i <= 200; ++i) buffer.append(reading(i));
  buffer.commit();
  REQUIRE(buffer.count() == 200);

  fs.fill();
  for (int i = 201; i <= 3000; ++i) buffer.append(reading(i));
  REQUIRE_THROWS_AS(buffer.commit(), buffer_error);
  CHECK(buffer.write_failing());
  INFO(buffer.write_error());
  CHECK(buffer.write_error().find("full") != std::string::npos);
  // At most one small transaction grew the file into the space reserve; the rest waits in memory.
  CHECK(buffer.last_committed_seq() <= 200 + static_cast<Seq>(Buffer::kRetryChunk));

  // The broker acknowledges what it had, and a little space comes back (far less than the backlog needs): the
  // deletions commit first, then the backlog in small transactions until the space is used up.
  for (Seq s = 1; s <= 200; ++s) buffer.acknowledge(s);
  fs.release(160 * 1024);
  CHECK_THROWS_AS(buffer.commit(), buffer_error);
  CHECK(buffer.stats().acknowledged == 200);
  CHECK(buffer.count() > 0);                      // some of the backlog went in...
  CHECK(buffer.last_committed_seq() > 200);
  CHECK(buffer.last_committed_seq() < 3000);      // ...not all of it
  const Seq partly = buffer.last_committed_seq();

  // Readings keep coming while the disk is full: memory is bounded, the oldest readings in memory go, announced.
  std::optional<Overflow> dropped;
  for (int i = 3001; i <= 30000; ++i) {
    buffer.append(i % 1000 == 0 ? event(i) : reading(i));
    if (auto d = buffer.take_memory_overflow()) {
      if (!dropped) {
        dropped = d;
      } else {
        dropped->last_seq = std::max(dropped->last_seq, d->last_seq);
        dropped->dropped += d->dropped;
      }
    }
  }
  REQUIRE(dropped.has_value());
  CHECK(dropped->first_seq == partly + 1);
  CHECK(dropped->dropped > 15000);
  CHECK(buffer.pending() * 200 < Buffer::kMemoryBound);  // every queued payload is over 200 bytes

  // Space returns: the backlog goes in, chunk by chunk.
  fs.release();
  buffer.commit();
  CHECK_FALSE(buffer.write_failing());
  CHECK(buffer.pending() == 0);
  const auto records = buffer.read_after(0, 100000);
  // Every event survived; every reading not announced as dropped is there; seq never repeats.
  std::set<Seq> seen;
  for (const auto& r : records) CHECK(seen.insert(r.seq).second);
  for (int i = 3001; i <= 30000; ++i) {
    if (i % 1000 == 0 || i > dropped->last_seq) {
      INFO("seq " << i);
      CHECK(seen.count(i) == 1);
    }
  }
  CHECK(static_cast<std::int64_t>(records.size()) + dropped->dropped == 30000 - 200);
}

// The wedge the space reserve breaks: the database and its WAL fill the filesystem by themselves (no other file to
// free), the broker then acknowledges everything. Deleting needs WAL frames and the checkpoint needs the file to grow:
// without space lent from somewhere, no record could ever be deleted or written again.
TEST_CASE("a disk filled by the buffer itself: delivered records are still deleted, and new ones fit in the space") {
  test::SmallFilesystem fs(4u << 20);
  const auto path = fs.file("buffer.db");
  Buffer buffer(options(path));
  const auto reserve_bytes = [&] {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path + ".reserve", ec);
    return ec ? 0 : size;
  };
  CHECK(reserve_bytes() == Buffer::kReserveBytes);
  int next = 1;
  bool full = false;
  while (!full && next < 200000) {
    for (int i = 0; i < 100; ++i) buffer.append(reading(next++));
    try {
      buffer.commit();
    } catch (const buffer_error&) {
      full = true;
    }
  }
  REQUIRE(full);
  INFO(buffer.write_error());
  const Seq committed = buffer.last_committed_seq();
  REQUIRE(committed > 5000);
  CHECK(fs.free_bytes() <= Buffer::kReserveHeadroom);
  // New records borrowed the reserve for their WAL frames; one small transaction at most grew the file into it.
  const auto reserve_left = reserve_bytes();
  CHECK(reserve_left < Buffer::kReserveBytes);
  CHECK(reserve_left > Buffer::kReserveBytes - 64 * 1024);

  // Everything committed was delivered; the next retry deletes it all, and the queued records go in after it.
  for (Seq s = 1; s <= committed; ++s) buffer.acknowledge(s);
  buffer.commit();
  CHECK_FALSE(buffer.write_failing());
  CHECK(buffer.stats().acknowledged == static_cast<std::uint64_t>(committed));
  CHECK(buffer.last_committed_seq() == static_cast<Seq>(next - 1));
  CHECK(buffer.count() == next - 1 - committed);
  // What is left of the reserve is kept for the next time (deleting does not shrink the database file).
  CHECK(reserve_bytes() >= reserve_left);

  // The deleted records' pages take new ones without more disk space, also in one large commit (written in small
  // transactions when one does not fit).
  for (int i = 0; i < 5000; ++i) buffer.append(reading(next++));
  buffer.commit();
  CHECK_FALSE(buffer.write_failing());
  CHECK(buffer.last_committed_seq() == static_cast<Seq>(next - 1));
}
