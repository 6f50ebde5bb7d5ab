// The pure parts of command handling (commands/decode.hpp) and the log escaping.
#include <catch2/catch.hpp>

#include "log/log_escape.hpp"
#include "commands/decode.hpp"

using namespace tally;
using namespace tally::commands;

TEST_CASE("decode: a well-formed command, and every malformed kind as an error, never an exception") {
  const Decoded d = decode(R"({"id":7,"cmd":"unit.add","serial":"SN-1"})");
  CHECK(d.ok());
  CHECK(d.id == 7);
  CHECK(d.cmd == "unit.add");
  CHECK(d.args == json{{"serial", "SN-1"}});
  CHECK(decode("{not json").error == "malformed command: not JSON");
  CHECK(decode("[1]").error == "malformed command: not a JSON object");
  CHECK(decode(R"({"id":"a"})").error == "malformed command: \"cmd\" (a string) is missing");
  CHECK(decode(R"({"id":"a"})").id == "a");
  CHECK(decode(std::string(40, '[') + std::string(40, ']')).error == "malformed command: nested too deeply");
  CHECK(decode(std::string(kMaxBytes + 1, ' ')).error == "malformed command: 8193 bytes, over the limit of 8192");
  CHECK(decode("{\"cmd\":\"\xff\"}").error == "malformed command: not JSON");  // invalid UTF-8: refused, no throw
}

TEST_CASE("response topics: no wildcards, nothing reserved, nothing under the station's topics but cmd/reply") {
  const std::string b = "acme/plant1/bench-1";
  CHECK(response_topic_problem("clients/42/replies", b).empty());
  CHECK(response_topic_problem(b + "/cmd/reply", b).empty());
  CHECK(response_topic_problem(b + "/cmd/reply/ctl-7", b).empty());
  CHECK(response_topic_problem("acme/plant1/bench-10/x", b).empty());  // another station's prefix is not ours
  CHECK(response_topic_problem("a/#", b) == "contains a wildcard ('+' or '#')");
  CHECK(response_topic_problem("a/+/b", b) == "contains a wildcard ('+' or '#')");
  CHECK(response_topic_problem("$SYS/x", b) == "starts with '$' (reserved for the broker)");
  CHECK(response_topic_problem(b + "/events", b).rfind("under the station's own topics", 0) == 0);
  CHECK(response_topic_problem(b, b).rfind("under the station's own topics", 0) == 0);
  CHECK(response_topic_problem(b + "/cmd/replyx", b).rfind("under the station's own topics", 0) == 0);
  CHECK(response_topic_problem(std::string("a\0b", 3), b) == "not valid UTF-8");
  CHECK(response_topic_problem("a/\xff", b) == "not valid UTF-8");
  CHECK(response_topic_problem(std::string(1025, 'a'), b) == "longer than 1024 bytes");
}

TEST_CASE("summary: long strings cut on a character boundary, containers counted, keys bounded") {
  CHECK(summary("short") == "short");
  CHECK(summary(std::string(100, 'x')) == std::string(64, 'x') + "...(100 bytes)");
  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";  // é, 2 bytes each
  const std::string cut = summary(accents).get<std::string>();
  CHECK(cut == accents.substr(0, 64) + "...(80 bytes)");
  CHECK(summary(json::array({1, 2, 3})) == "(array of 3)");
  json many = json::object();
  for (int i = 0; i < 20; ++i) many["k" + std::to_string(100 + i)] = i;
  const json s = summary(many);
  CHECK(s.size() == kSummaryKeys + 1);
  CHECK(s["..."] == "4 more keys");
  CHECK(summary(json{{"deep", {{"a", 1}}}}) == json{{"deep", "(object of 1)"}});
  CHECK(summary(42) == 42);
}

TEST_CASE("rate limit: a burst passes, then the average rate") {
  RateLimit limit(10, 5);
  const auto t0 = std::chrono::steady_clock::now();
  int admitted = 0;
  for (int i = 0; i < 20; ++i) admitted += limit.admit(t0) ? 1 : 0;
  CHECK(admitted == 5);
  CHECK(limit.admit(t0 + std::chrono::milliseconds(100)));
  CHECK_FALSE(limit.admit(t0 + std::chrono::milliseconds(100)));
  admitted = 0;
  for (int ms = 200; ms <= 2100; ms += 10) admitted += limit.admit(t0 + std::chrono::milliseconds(ms)) ? 1 : 0;
  CHECK(admitted >= 19);  // 10 a second over 1.9 s, after a burst of 5 spent
  CHECK(admitted <= 20);
}

TEST_CASE("text from outside is escaped for the log") {
  CHECK(escape_for_log("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(escape_for_log(std::string("\x1b[31m\0", 6)) == "\\x1b[31m\\x00");
  CHECK(escape_for_log("back\\slash") == "back\\\\slash");
  CHECK(escape_for_log("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(escape_for_log(std::string(300, 'x'), 10) == "xxxxxxxxxx...(300 bytes)");
}
