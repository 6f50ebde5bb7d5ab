// `tallyctl buffer` against a real buffer file that a Buffer (tallyd's own class) holds open and keeps writing, as
// tallyd does while someone inspects it.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <string>
#include <vector>

#include "buffer/buffer.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using tally::test::Process;
using tally::test::TempDir;

tally::Record reading(int i) {
  return {tally::RecordKind::reading, "tally/bench-1/readings/kettle",
          tally::json{{"ts", "2026-11-29T06:58:0" + std::to_string(i) + ".114Z"}, {"station", "bench-1"},
                      {"device", "kettle"}, {"value", 20.0 + i}}};
}

tally::Record event() {
  return {tally::RecordKind::event, "tally/bench-1/events",
          tally::json{{"ts", "2026-11-29T06:59:00.000Z"}, {"station", "bench-1"}, {"event", "daemon.started"}}};
}

struct Run {
  int code;
  std::string out;
};

Run tallyctl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TALLYCTL_PATH);
  Process p(args, dir.file("tallyctl.log"));
  const auto code = p.wait(10s);
  return {code.value_or(-1), p.log()};
}

}  // namespace

TEST_CASE("tallyctl buffer shows depth, seq range, oldest record and size while the buffer is open and written") {
  TempDir dir;
  tally::BufferOptions options;
  options.path = dir.file("buffer.db");
  tally::Buffer buffer(options);
  for (int i = 0; i < 5; ++i) buffer.append(reading(i));
  buffer.append(event());
  buffer.commit();
  buffer.acknowledge(1);  // delivered: no longer in the buffer
  buffer.commit(true);

  // The file is tallyd's, not every user's.
  struct stat st{};
  REQUIRE(::stat(options.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);

  const auto r = tallyctl(dir, {"buffer", options.path});
  CHECK(r.code == 0);
  CHECK(r.out.find("depth:   5 records (4 readings, 1 others)") != std::string::npos);
  CHECK(r.out.find("seq:     2..6 (last assigned 6)") != std::string::npos);
  CHECK(r.out.find("oldest:  seq 2, reading of 2026-11-29T06:58:01.114Z on tally/bench-1/readings/kettle") !=
        std::string::npos);
  CHECK(r.out.find("size:    ") != std::string::npos);
  CHECK(r.out.find("reserve: 1.00 MiB of disk space held for a full disk") != std::string::npos);

  // The reader held nothing: the writer goes on committing, and a second look sees the new record.
  buffer.append(reading(7));
  CHECK_NOTHROW(buffer.commit());
  CHECK(tallyctl(dir, {"buffer", options.path}).out.find("seq:     2..7") != std::string::npos);
}

TEST_CASE("tallyctl buffer takes the path from the configuration and says when there is no buffer") {
  TempDir dir;
  const auto config = dir.write("tally.toml", "[station]\nid = \"bench-1\"\n\n[buffer]\npath = \"" +
                                                  dir.file("none.db") + "\"\n");
  const auto r = tallyctl(dir, {"--config", config, "buffer"});
  CHECK(r.code == 3);
  CHECK(r.out.find("no buffer at " + dir.file("none.db")) != std::string::npos);
}

TEST_CASE("tallyctl buffer on a file that is not a database fails with the reason") {
  TempDir dir;
  const auto path = dir.write("junk.db", std::string(4096, 'x'));
  const auto r = tallyctl(dir, {"buffer", path});
  CHECK(r.code == 3);
  CHECK(r.out.find("cannot read the buffer") != std::string::npos);
}
