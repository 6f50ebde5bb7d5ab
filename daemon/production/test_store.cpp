// The production context in a real buffer file: the context document plus one state row per serial of the active
// work order. A unit costs one row (the document does not grow with the serials), duplicates are still refused
// after a kill -9 (the file reopened without a clean stop), and a unit and its serial row commit together.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "buffer/buffer.hpp"
#include "production/store.hpp"
#include "support/temp_dir.hpp"

using namespace tally;
using namespace std::chrono;
using tally::test::TempDir;

namespace {

const wall_time t0 = wall_time(milliseconds(1795515302000));  // 2026-11-24T10:15:02Z

struct Station {
  StampInfo stamp{"line-1", true};
  Buffer buffer;
  Production p{Mode::discrete, 300, {}, stamp};
  explicit Station(const std::string& path) : buffer(BufferOptions{path, 256ull << 20, false}) {
    p.set_clock([] { return mono_time(seconds(5000)); }, "boot-1");
  }
  // What ProductionFlow::apply (station/production_flow.cpp) does: the outcome's records, then the context and the serial rows, in one commit.
  Outcome cmd(const std::string& name, const json& args = json::object(), bool commit = true) {
    Outcome o = p.handle(name, args, "mqtt", t0);
    for (const auto& r : o.records) buffer.append(r);
    if (!o.records.empty()) save_production(p, buffer);
    if (commit) buffer.commit();
    return o;
  }
  std::size_t document_size() const { return buffer.get_state(kContextKey).value_or("").size(); }
};

std::string serial(int i) {
  char s[32];
  std::snprintf(s, sizeof s, "SN-%08d", i);
  return s;
}

}  // namespace

TEST_CASE("the context document does not grow with the number of serials: each serial is one row") {
  TempDir dir;
  Station s(dir.file("buffer.db"));
  REQUIRE(s.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);
  REQUIRE(s.cmd("unit.add", {{"serial", serial(1)}}).ok);
  const std::size_t at_one = s.document_size();
  CHECK(s.buffer.get_state(std::string(kSerialPrefix) + serial(1)) == std::optional<std::string>("1"));
  for (int i = 2; i <= 2000; ++i) s.p.handle("unit.add", {{"serial", serial(i)}}, "mqtt", t0);
  save_production(s.p, s.buffer);
  s.buffer.commit();
  REQUIRE(s.cmd("unit.add", {{"serial", serial(2001)}}).ok);
  // Only the unit count's digits differ: 1 -> 2001.
  CHECK(s.document_size() <= at_one + 3);
  CHECK(s.buffer.get_state(kContextKey)->find(serial(1)) == std::string::npos);
  CHECK(s.buffer.states_with_prefix(kSerialPrefix).size() == 2001);
  CHECK(s.p.take_serial_rows().empty());  // everything handed over
}

TEST_CASE("duplicate serials are refused after a kill -9 (the buffer file reopened without a clean stop)") {
  TempDir dir;
  {
    Station a(dir.file("buffer.db"));
    REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-7"}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "A"}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "B"}}).ok);
    // Queued, never committed: the unit and its serial row are lost together.
    REQUIRE(a.cmd("unit.add", {{"serial", "C"}}, false).ok);
  }
  Station b(dir.file("buffer.db"));
  REQUIRE_FALSE(restore_production(b.p, b.buffer).has_value());
  CHECK(b.p.context().work_order == "WO-7");
  CHECK(b.p.context().unit_no == 2);
  auto o = b.cmd("unit.add", {{"serial", "A"}});
  CHECK(o.error == "serial A is already unit 1 of work order WO-7");
  REQUIRE(o.records.size() == 1);
  CHECK(o.records[0].body["event"] == "unit.duplicate");
  CHECK(b.cmd("unit.add", {{"serial", "B"}}).error == "serial B is already unit 2 of work order WO-7");
  o = b.cmd("unit.add", {{"serial", "C"}});  // its first unit.add was never committed
  REQUIRE(o.ok);
  CHECK(o.reply["unit_no"] == 3);
}

TEST_CASE("work_order.end erases the serial rows: the next work order may register the same serials") {
  TempDir dir;
  {
    Station a(dir.file("buffer.db"));
    REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "A"}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "B"}}).ok);
    REQUIRE(a.cmd("work_order.end").ok);
    CHECK(a.buffer.states_with_prefix(kSerialPrefix).empty());
    REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-2"}}).ok);
  }
  Station b(dir.file("buffer.db"));
  REQUIRE_FALSE(restore_production(b.p, b.buffer).has_value());
  CHECK(b.p.context().work_order == "WO-2");
  CHECK(b.cmd("unit.add", {{"serial", "A"}}).ok);
}

TEST_CASE("a context saved by the previous version, with the serial set inside, restores its serials as rows") {
  TempDir dir;
  std::string old_document;
  {
    Station a(dir.file("old.db"));
    REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-9"}, {"target", 5}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "X-1"}}).ok);
    REQUIRE(a.cmd("unit.add", {{"serial", "X-2"}}).ok);
    json doc = json::parse(a.p.save());
    REQUIRE_FALSE(doc["work_order"].contains("serials"));
    doc["work_order"]["serials"] = {{"X-1", 1}, {"X-2", 2}};  // as the previous version wrote it
    doc["work_order"].erase("serial");
    old_document = doc.dump();
  }
  {
    Buffer buffer(BufferOptions{dir.file("buffer.db"), 256ull << 20, false});
    buffer.put_state(kContextKey, old_document);
    buffer.commit();
  }
  {
    Station b(dir.file("buffer.db"));
    REQUIRE_FALSE(restore_production(b.p, b.buffer).has_value());
    CHECK(b.p.context().serial == "X-2");  // the latest unit's serial, from the set
    CHECK(b.cmd("unit.add", {{"serial", "X-2"}}).error == "serial X-2 is already unit 2 of work order WO-9");
    // Written as rows at once, and the document no longer carries the set.
    CHECK(b.buffer.states_with_prefix(kSerialPrefix).size() == 2);
    CHECK_FALSE(json::parse(*b.buffer.get_state(kContextKey))["work_order"].contains("serials"));
  }
  Station c(dir.file("buffer.db"));
  REQUIRE_FALSE(restore_production(c.p, c.buffer).has_value());
  CHECK(c.cmd("unit.add", {{"serial", "X-1"}}).error == "serial X-1 is already unit 1 of work order WO-9");
  CHECK(c.cmd("unit.add", {{"serial", "X-3"}}).reply["unit_no"] == 3);
}

TEST_CASE("serial rows left without an active work order are erased at start") {
  TempDir dir;
  {
    Buffer buffer(BufferOptions{dir.file("buffer.db"), 256ull << 20, false});
    buffer.put_state(std::string(kSerialPrefix) + "stale", "4");
    buffer.commit();
  }
  {
    Station a(dir.file("buffer.db"));
    REQUIRE_FALSE(restore_production(a.p, a.buffer).has_value());
    a.buffer.commit();
    CHECK(a.buffer.states_with_prefix(kSerialPrefix).empty());
    REQUIRE(a.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);
  }
  Station b(dir.file("buffer.db"));
  REQUIRE_FALSE(restore_production(b.p, b.buffer).has_value());
  CHECK(b.cmd("unit.add", {{"serial", "stale"}}).ok);
}

// The figure in docs/reliability.md: bytes queued and time per unit, committed one unit at a time, at 1 and at
// 20,000 serials, as stored now and as stored before (the whole set inside the document, emulated by writing it).
// Hidden (run with: test_production "[.figure]"); no timing assertion.
TEST_CASE("figure: cost of a serialised unit at 1 and 20,000 serials", "[.figure]") {
  for (const bool whole_set : {false, true}) {
    TempDir dir;
    Station s(dir.file("buffer.db"));
    REQUIRE(s.cmd("work_order.start", {{"work_order", "WO-1"}}).ok);
    json serials = json::object();
    int n = 0;
    auto measure = [&](int units) {
      std::size_t bytes = 0;
      const auto start = steady_clock::now();
      for (int i = 0; i < units; ++i) {
        ++n;
        Outcome o = s.p.handle("unit.add", {{"serial", serial(n)}}, "mqtt", t0);
        for (const auto& r : o.records) s.buffer.append(r);
        std::string doc = s.p.save();
        if (whole_set) {
          serials[serial(n)] = n;
          json d = json::parse(doc);
          d["work_order"]["serials"] = serials;
          doc = d.dump();
          bytes += doc.size();
          s.buffer.put_state(kContextKey, doc);
          s.p.take_serial_rows();
        } else {
          bytes += doc.size() + std::strlen(kSerialPrefix) + serial(n).size() + std::to_string(n).size();
          save_production(s.p, s.buffer);
        }
        s.buffer.commit();
      }
      return std::pair{bytes / units, duration<double, std::micro>(steady_clock::now() - start).count() / units};
    };
    const auto first = measure(100);
    while (n < 19900) {  // fill quickly, in one commit per 1,000 units
      for (int i = 0; i < 1000 && n < 19900; ++i) {
        ++n;
        s.p.handle("unit.add", {{"serial", serial(n)}}, "mqtt", t0);
        if (whole_set) serials[serial(n)] = n;
      }
      if (!whole_set) save_production(s.p, s.buffer);
      else s.p.take_serial_rows();
      s.buffer.commit();
    }
    const auto at_20k = measure(100);
    WARN((whole_set ? "before (set in the document): " : "now (one row per serial): ")
         << "units 1-100: " << first.first << " bytes, " << first.second << " us per unit; units 19,901-20,000: "
         << at_20k.first << " bytes, " << at_20k.second << " us per unit");
  }
}

TEST_CASE("a batch's recipe is saved once, not in every context save, and a restart keeps the batch's own recipe") {
  TempDir dir;
  Recipe long_recipe{"long", "A long recipe", {}};
  for (int i = 0; i < 100; ++i) {
    RecipeStep step;
    step.name = "s" + std::to_string(i);
    step.kind = StepKind::manual;
    long_recipe.steps.push_back(step);
  }
  StampInfo stamp{"kitchen-1", true};
  const std::string path = dir.file("buffer.db");
  {
    Buffer buffer(BufferOptions{path, 256ull << 20, false});
    Production p{Mode::process, 300, {long_recipe}, stamp};
    p.set_clock([] { return mono_time(seconds(5000)); }, "boot-1");
    auto run = [&](const std::string& cmd, const json& args = json::object()) {
      Outcome o = p.handle(cmd, args, "mqtt", t0);
      REQUIRE(o.ok);
      for (const auto& r : o.records) buffer.append(r);
      save_production(p, buffer);
      buffer.commit();
    };
    run("batch.start", {{"batch", "B-1"}, {"recipe", "long"}});
    const auto snapshot = buffer.get_state(kBatchRecipeKey);
    REQUIRE(snapshot.has_value());
    CHECK(snapshot->find("\"s99\"") != std::string::npos);
    for (int i = 0; i < 5; ++i) run("step.next");
    CHECK(p.take_recipe_row() == std::nullopt);  // written once, at batch.start
    // The document names the recipe (its 100 steps would be rewritten on every step change); it carries the
    // completed steps' results, which the batch record needs, and nothing of the steps to come.
    const std::string document = buffer.get_state(kContextKey).value_or("");
    CHECK(document.find("\"s99\"") == std::string::npos);
    CHECK(document.size() * 4 < snapshot->size());
    CHECK(buffer.get_state(kContextKey).value_or("").find("\"recipe\":\"long\"") != std::string::npos);
  }
  // The configuration changed meanwhile: "long" now has 3 steps. The running batch goes on with its own 100.
  Recipe changed = long_recipe;
  changed.steps.resize(3);
  Buffer buffer(BufferOptions{path, 256ull << 20, false});
  Production p{Mode::process, 300, {changed}, stamp};
  p.set_clock([] { return mono_time(seconds(6000)); }, "boot-1");
  REQUIRE_FALSE(restore_production(p, buffer).has_value());
  CHECK(p.context().step == "s5");
  CHECK(p.context_payload()["steps"] == 100);

  // A document written before recipes were rows of their own embeds it: read, and handed over as the row.
  json old = json::parse(*buffer.get_state(kContextKey));
  old["batch"]["recipe"] = json::parse(*buffer.get_state(kBatchRecipeKey));
  Production from_old{Mode::process, 300, {}, stamp};
  from_old.set_clock([] { return mono_time(seconds(6000)); }, "boot-1");
  REQUIRE_FALSE(from_old.restore(old.dump()).has_value());
  CHECK(from_old.context().step == "s5");
  CHECK(from_old.take_recipe_row().has_value());

  // Neither saved nor configured: a warning, and no batch (rather than a batch without steps).
  Production lost{Mode::process, 300, {}, stamp};
  lost.set_clock([] { return mono_time(seconds(6000)); }, "boot-1");
  const auto warning = lost.restore(*buffer.get_state(kContextKey));
  REQUIRE(warning.has_value());
  CHECK(warning->find("the running batch's recipe \"long\" is neither saved nor configured") != std::string::npos);
  CHECK(lost.context().batch.empty());
}
