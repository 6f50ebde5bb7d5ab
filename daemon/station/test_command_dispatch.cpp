// CommandDispatch through the CommandIntake: what a client publishing on B/cmd gets back (its reply, when it is
// sent, with its correlation data) and what the record stream says (command events, the command's effects).
#include "station/test_station_rig.hpp"

using namespace tally;
using namespace tally::test;

namespace {
const std::string kScale = R"(
[[devices]]
name = "scale"
driver = "simulated"
)";
}

TEST_CASE("a command's reply waits for the commit that holds its effects, and the command is recorded") {
  StationRig r(kScale);
  r.start();
  r.connect();
  r.link->deliver("tally/s1/cmd", R"({"id":"a1","cmd":"work_order.start","work_order":"WO-7"})", "", "corr-1");
  CHECK(r.replies().empty());  // nothing committed yet: an "ok" a crash could still take back is never sent
  r.end_of_iteration();
  const auto replies = r.replies();
  REQUIRE(replies.size() == 1);
  CHECK(replies[0] == json{{"id", "a1"}, {"ok", true}, {"work_order", "WO-7"}});
  CHECK(r.link->sent_to("tally/s1/cmd/reply")[0].correlation == "corr-1");
  const auto commands = r.events("command");
  REQUIRE(commands.size() == 1);
  CHECK(commands[0]["id"] == "a1");
  CHECK(commands[0]["cmd"] == "work_order.start");
  CHECK(commands[0]["source"] == "mqtt");
  CHECK(commands[0]["ok"] == true);
  CHECK(json::parse(r.retained_payload("context").value())["work_order"] == "WO-7");
}

TEST_CASE("a retried command (same id) gets its first reply again and changes nothing") {
  StationRig r(kScale);
  r.start();
  r.connect();
  r.command(R"({"id":1,"cmd":"work_order.start","work_order":"WO-7"})");
  r.command(R"({"id":"u1","cmd":"unit.add","serial":"SN-1"})");
  r.command(R"({"id":"u1","cmd":"unit.add","serial":"SN-1"})");
  const auto replies = r.replies();
  REQUIRE(replies.size() == 3);
  CHECK(replies[1]["ok"] == true);
  CHECK(replies[2] == replies[1]);
  CHECK(r.on("units").size() == 1);
  CHECK(r.events("unit.duplicate").empty());
  const auto commands = r.events("command");
  REQUIRE(commands.size() == 3);
  CHECK(commands[2]["repeated"] == true);
  CHECK(commands[2]["ok"] == true);
}

TEST_CASE("a malformed or unknown command gets an error reply and changes nothing else") {
  StationRig r(kScale);
  r.start();
  r.connect();
  const auto before = r.records().size();
  r.command("this is not json");
  r.command(R"({"id":2,"cmd":"fly.away"})");
  const auto replies = r.replies();
  REQUIRE(replies.size() == 2);
  CHECK(replies[0]["ok"] == false);
  CHECK(replies[0]["id"] == nullptr);
  CHECK(replies[1] == json{{"id", 2}, {"ok", false}, {"error", "unknown command \"fly.away\""}});
  const auto records = r.records();
  REQUIRE(records.size() == before + 2);  // the two command events, nothing else
  CHECK(r.events("command").size() == 2);
}

TEST_CASE("a command too large for the link to read is answered with an error on its response topic") {
  StationRig r(kScale);
  r.start();
  r.connect();
  LinkMessage big{"tally/s1/cmd", "", "app/replies/7", "corr-7"};
  big.oversized = 1048612;  // dropped unread by the link (mqtt/link_paho.cpp): only its size and reply address came
  r.link->events.message(big);
  r.end_of_iteration();
  const auto sent = r.link->sent_to("app/replies/7");
  REQUIRE(sent.size() == 1);
  const json reply = json::parse(sent[0].payload);
  CHECK(reply["ok"] == false);
  CHECK(reply["id"] == nullptr);
  CHECK(reply["error"] == "malformed command: 1048612 bytes, over the limit of 8192");
  CHECK(sent[0].correlation == "corr-7");
}

TEST_CASE("a flood of commands is refused over the rate limit with short replies and one event") {
  StationRig r(kScale);
  r.start();
  r.connect();
  const int sent = 80;
  for (int i = 0; i < sent; ++i) r.link->deliver("tally/s1/cmd", R"({"id":)" + std::to_string(i) + R"(,"cmd":"status"})");
  r.end_of_iteration();
  const auto replies = r.replies();
  REQUIRE(replies.size() == std::size_t(sent));  // every command is answered
  int ok = 0, limited = 0;
  for (const auto& reply : replies) {
    if (reply["ok"] == true) ++ok;
    else if (reply["error"].get<std::string>().rfind("rate limited", 0) == 0) ++limited;
  }
  CHECK(ok + limited == sent);
  CHECK(ok >= int(commands::kBurst));
  CHECK(limited > 0);
  CHECK(r.events("command").size() == std::size_t(ok));  // refused ones have no event of their own...
  r.commands.note_limited();
  r.end_of_iteration();
  const auto noted = r.events("command.rate_limited");
  REQUIRE(noted.size() == 1);  // ...they are counted in one
  CHECK(noted[0]["refused"] == limited);
}

TEST_CASE("scale.tare goes to the device, and its reply waits for the device's answer") {
  StationRig r(kScale);
  Driver::CommandDone answer;
  r.scripted.at("scale")->script.on_command = [&](std::string_view, Driver::CommandDone& done) {
    answer = done;
    return true;
  };
  r.start();
  r.connect();
  r.command(R"({"id":"t1","cmd":"scale.tare","device":"scale"})", "corr-t");
  CHECK(r.scripted.at("scale")->script.commands == std::vector<std::string>{"tare"});
  CHECK(r.replies().empty());
  REQUIRE(answer);
  answer(true, "tared at 0.02 kg");
  r.end_of_iteration();
  REQUIRE(r.replies().size() == 1);
  CHECK(r.replies()[0] == json{{"id", "t1"}, {"ok", true}, {"device", "scale"}, {"detail", "tared at 0.02 kg"}});
  CHECK(r.link->sent_to("tally/s1/cmd/reply")[0].correlation == "corr-t");

  r.command(R"({"id":"t2","cmd":"scale.zero","device":"bench"})");
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1] == json{{"id", "t2"}, {"ok", false}, {"error", "unknown device \"bench\""}});
}

TEST_CASE("status answers with the station's status, context and devices, and a stopping station refuses commands") {
  StationRig r(kScale);
  r.start();
  r.connect();
  r.command(R"({"id":"s","cmd":"status"})");
  REQUIRE(r.replies().size() == 1);
  const json reply = r.replies()[0];
  CHECK(reply["ok"] == true);
  CHECK(reply["status"]["online"] == true);
  CHECK(reply["context"]["mode"] == "discrete");
  CHECK(reply["devices"]["scale"]["online"] == true);

  r.commands.stopping();
  r.command(R"({"id":"w","cmd":"work_order.start","work_order":"WO-9"})");
  REQUIRE(r.replies().size() == 2);
  CHECK(r.replies()[1]["error"] == "tallyd is stopping");
  CHECK(r.events("work_order.started").empty());
}
