// Barcode scanners end to end: `tally-emu scanner` types codes as the key events of a keyboard-wedge scanner into a
// FIFO, a real tallyd reads it with scanner-evdev (grab = false), the scan rules and fallbacks drive production, and
// a subscriber on a real mosquitto sees the scan records, the commands they ran and the context they changed.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <sstream>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

const std::string GS = "<GS>";  // how the emulator is told to type the GS1 separator

// Scans `code` with the emulator (one process per code, as a person pulls the trigger) and waits for its record.
json scan(TempDir& dir, Subscriber& sub, const std::string& fifo, const std::string& code, const std::string& expect,
          const std::vector<std::string>& extra = {}) {
  static int n = 0;
  std::vector<std::string> argv{TALLY_EMU_PATH, "scanner", "--fifo", fifo, "--scan", code};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Process emu(argv, dir.file("emu-scan-" + std::to_string(++n) + ".log"));
  INFO("scan " << code << "\n" << emu.log());
  REQUIRE(emu.wait(10s) == std::optional<int>(0));
  json record;
  REQUIRE(sub.wait_for([&](const auto& all) {
    for (const auto& r : unique_records(all, base + "/scans"))
      if (r["code"] == expect) record = r;
    return !record.is_null();
  }));
  return record;
}

std::vector<json> commands_from(const std::vector<Message>& all, const std::string& source) {
  std::vector<json> out;
  for (const auto& e : events(all, "command"))
    if (e.value("source", "") == source) out.push_back(e);
  return out;
}

std::string scanner_device(const std::string& fifo, const std::string& extra = "") {
  return "[[devices]]\nname = \"scanner\"\ndriver = \"scanner-evdev\"\npath = \"" + fifo +
         "\"\ngrab = false\n" + extra + "\n";
}

}  // namespace

TEST_CASE_METHOD(WithStation,
                 "scanned codes drive a discrete work order: rules, part serials, a duplicate, GS1, an invalid code") {
  const std::string fifo = dir.file("scanner.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  tallyd.start(discrete(config(scanner_device(fifo, "layout = \"de\"") + R"(
[[scan_rules]]
pattern = '^WO:([^:]+):([0-9]+)$'
action = "work_order.start"
fields = ["work_order", "target"]

[[scan_rules]]
pattern = '^OP:(.+)$'
action = "operator.set"
fields = ["operator"]
)")));
  INFO(tallyd.log());
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  const std::vector<std::string> de{"--layout", "de"};  // scanner and device both set to German QWERTZ

  // Before a work order, a plain code is only recorded.
  json r = scan(dir, sub, fifo, "SN-0", "SN-0", de);
  CHECK(r["valid"] == true);
  CHECK(r["device"] == "scanner");
  CHECK_FALSE(r.contains("action"));

  r = scan(dir, sub, fifo, "OP:Zoey", "OP:Zoey", de);  // y and z swap places on QWERTZ: the layout sorts it out
  CHECK(r["action"] == "operator.set");
  r = scan(dir, sub, fifo, "WO:WO-9:3", "WO:WO-9:3", de);
  CHECK(r["action"] == "work_order.start");
  CHECK(r["operator"] == "Zoey");
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/context").value("work_order", "") == "WO-9"; }));
  CHECK(last_on(sub.messages(), base + "/context")["target"] == 3);

  r = scan(dir, sub, fifo, "SN-1", "SN-1", de);
  CHECK(r["action"] == "unit.add");
  CHECK(r["work_order"] == "WO-9");
  scan(dir, sub, fifo, "SN-1", "SN-1", de);  // the same serial again: refused
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "unit.duplicate").empty(); }));

  // A GS1 code (GS-separated, behind the AIM identifier for GS1-128): the serial is AI 21.
  r = scan(dir, sub, fifo, "]C10109506000134376" + GS + "21SER-2", "0109506000134376\x1D" "21SER-2", de);
  CHECK(r["symbology"] == "]C1");
  CHECK(r["gs1"] == json{{"01", "09506000134376"}, {"21", "SER-2"}});
  CHECK(r["valid"] == true);

  // A wrong GTIN check digit: recorded as invalid with the reason, and nothing happens.
  r = scan(dir, sub, fifo, "]C10109506000134370" + GS + "21SER-3", "0109506000134370\x1D" "21SER-3", de);
  CHECK(r["valid"] == false);
  CHECK(r["reason"] == "(01): check digit is 0, expected 6");
  CHECK_FALSE(r.contains("action"));

  // A scan after the invalid one shows it did not count (seq order: its unit would have come first).
  r = scan(dir, sub, fifo, "SN-4", "SN-4", de);
  REQUIRE(sub.wait_for([](const auto& all) { return unique_records(all, base + "/units").size() == 3; }));
  const auto units = unique_records(sub.messages(), base + "/units");
  CHECK(units[0]["serial"] == "SN-1");
  CHECK(units[1]["serial"] == "SER-2");
  CHECK(units[2]["serial"] == "SN-4");
  CHECK(units[2]["unit_no"] == 3);

  // The last unit's command event follows its unit record: wait for it too.
  REQUIRE(sub.wait_for([](const auto& all) { return commands_from(all, "scanner").size() >= 6; }));
  const auto cmds = commands_from(sub.messages(), "scanner");
  REQUIRE(cmds.size() == 6);  // operator.set, work_order.start, unit.add x4 (one refused)
  CHECK(cmds[0]["cmd"] == "operator.set");
  CHECK(cmds[0]["args"] == json{{"operator", "Zoey"}});
  CHECK(cmds[1]["args"] == json{{"work_order", "WO-9"}, {"target", 3}});
  CHECK(cmds[3]["ok"] == false);
  CHECK(cmds[3]["error"] == "serial SN-1 is already unit 1 of work order WO-9");
}

TEST_CASE_METHOD(WithStation, "a batch sheet starts a batch, a GS1 lot code is recorded on the weigh step") {
  const std::string fifo = dir.file("scanner.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Pty scale(dir.file("tty-scale"));
  const std::string config = station_config(broker, dir,
                                            scanner_device(fifo, "terminator = \"tab\"\ngs = \"f12\"") +
                                                "[[devices]]\nname = \"bench-scale\"\ndriver = \"serial-line\"\nport = \"" +
                                                scale.link() + "\"\nquantity = \"mass\"\nunit = \"g\"\n" + R"(
[[scan_rules]]
pattern = '^BATCH:([^:]+):(.+)$'
action = "batch.start"
fields = ["recipe", "batch"]

[[recipes]]
id = "mini-soap"
name = "Mini soap"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  device = "bench-scale"
  target = 100.0
  tolerance = 5.0
)");
  tallyd.start(config);
  INFO(tallyd.log());
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  const std::vector<std::string> emu{"--terminator", "tab", "--gs", "f12"};

  json r = scan(dir, sub, fifo, "BATCH:mini-soap:B-7", "BATCH:mini-soap:B-7", emu);
  CHECK(r["action"] == "batch.start");
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/context").value("batch", "") == "B-7"; }));
  CHECK(last_on(sub.messages(), base + "/context")["step"] == "weigh-oils");

  r = scan(dir, sub, fifo, "0109506000134376" + GS + "10LOT-42" + GS + "17261231", "0109506000134376\x1D" "10LOT-42\x1D" "17261231", emu);
  CHECK(r["action"] == "lot.record");
  CHECK(r["batch"] == "B-7");
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "lot.recorded").empty(); }));
  CHECK(events(sub.messages(), "lot.recorded")[0]["lot"] == "LOT-42");

  // An invalid date (month 13) is refused: no second lot.
  r = scan(dir, sub, fifo, "0109506000134376" + GS + "10LOT-43" + GS + "17261331", "0109506000134376\x1D" "10LOT-43\x1D" "17261331", emu);
  CHECK(r["valid"] == false);
  CHECK(r["reason"] == "(17): invalid date 261331: month 13 does not exist");
  scan(dir, sub, fifo, "BATCH:mini-soap:B-8", "BATCH:mini-soap:B-8", emu);  // refused: B-7 is running
  REQUIRE(sub.wait_for([](const auto& all) { return commands_from(all, "scanner").size() == 3; }));
  CHECK(events(sub.messages(), "lot.recorded").size() == 1);
  CHECK(commands_from(sub.messages(), "scanner")[2]["ok"] == false);
}

TEST_CASE_METHOD(WithStation, "no terminator, 16-byte events, and a rule added by SIGHUP") {
  const std::string fifo = dir.file("scanner.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string device = scanner_device(fifo, "terminator = \"none\"\nevent_size = 16\ntimeout_ms = 50");
  tallyd.start(config(device));
  INFO(tallyd.log());
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  const std::vector<std::string> emu{"--terminator", "none", "--event-size", "16"};

  json r = scan(dir, sub, fifo, "OP:kim", "OP:kim", emu);  // ended by the inter-key timeout
  CHECK_FALSE(r.contains("action"));                        // no rule yet

  std::ofstream(tallyd.config_path, std::ios::app) << "\n[[scan_rules]]\npattern = '^OP:(.+)$'\naction = \"operator.set\"\n"
                                                     "fields = [\"operator\"]\n";
  tallyd.process->signal(SIGHUP);
  REQUIRE(wait_until([&] { return tallyd.log().find("devices from") != std::string::npos; }));
  r = scan(dir, sub, fifo, "OP:lee", "OP:lee", emu);
  CHECK(r["action"] == "operator.set");
  REQUIRE(sub.wait_for([](const auto& all) { return last_on(all, base + "/context").value("operator", "") == "lee"; }));
}

// Issue #13: input must not drive the log. Every refused scan is a scan record (valid: false, the reason); the log
// says so for at most 10 a minute (LogLimit), then how many it held back.
TEST_CASE_METHOD(WithStation, "a burst of invalid scans is recorded in full but logged at most 10 times a minute") {
  const std::string fifo = dir.file("scanner.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  tallyd.start(config(scanner_device(fifo)));
  INFO(tallyd.log());
  REQUIRE(sub.wait_for([](const auto& all) { return !events(all, "daemon.started").empty(); }));
  // EAN-13 with every wrong check digit: 400638133393(1) and 590123412345(7) are the valid ones.
  std::string codes;
  for (char d = '0'; d <= '9'; ++d) {
    if (d != '1') codes += std::string("400638133393") + d + "\n";
    if (d != '7') codes += std::string("590123412345") + d + "\n";
  }
  const std::string list = dir.write("codes.txt", codes);
  Process emu({"/bin/sh", "-c", std::string(TALLY_EMU_PATH) + " scanner --fifo " + fifo + " < " + list},
              dir.file("emu-burst.log"));
  REQUIRE(emu.wait(30s) == std::optional<int>(0));
  REQUIRE(sub.wait_for([](const auto& all) { return unique_records(all, base + "/scans").size() == 18; }, 20s));
  for (const auto& r : unique_records(sub.messages(), base + "/scans")) CHECK(r["valid"] == false);
  std::istringstream log(tallyd.log());
  int lines = 0;
  for (std::string line; std::getline(log, line);) lines += line.find("scan refused") != std::string::npos;
  CHECK(lines == 10);  // before: 18
}
