// tallyctl against a real mosquitto. tallyd's command handling is stood in for by a Responder: an MQTT 5 client
// in the test on tally/bench-1/cmd that answers on the request's response topic with its correlation data, exactly
// as the contract asks of tallyd (shared/PRODUCT.md, "Commands").
#include <catch2/catch.hpp>
#include <mqtt/async_client.h>

#include <functional>
#include <mutex>

#include "harness.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

struct Request {
  json body;
  std::string response_topic;  // empty when the request carried none
  std::string correlation;
};

// Answers every request on `<base>/cmd` with the messages `answer` returns: on the response topic with the
// request's correlation data, or on `<base>/cmd/reply` when `shared_reply` is set (what a daemon connected with
// MQTT 3.1.1 must do: it never sees the response topic). Callbacks only publish, never wait.
class Responder {
 public:
  using Answer = std::function<std::vector<json>(const json& request)>;

  Responder(const std::string& url, std::string base, Answer answer, bool shared_reply = false)
      : base_(std::move(base)),
        answer_(std::move(answer)),
        shared_reply_(shared_reply),
        client_(url, "test-responder", mqtt::create_options(MQTTVERSION_5)) {
    client_.set_message_callback([this](mqtt::const_message_ptr m) { on_request(*m); });
    auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize();
    REQUIRE(client_.connect(options)->wait_for(10s));
    REQUIRE(client_.subscribe(base_ + "/cmd", 1)->wait_for(10s));
  }
  ~Responder() {
    try {
      client_.disconnect()->wait_for(2s);  // before destruction (Paho #453)
    } catch (...) {
    }
  }

  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void publish(const std::string& topic, const std::string& payload) {
    REQUIRE(client_.publish(topic, payload.data(), payload.size(), 1, false)->wait_for(10s));
  }

 private:
  void on_request(const mqtt::message& m) {
    try {
      Request r;
      r.body = json::parse(m.get_payload_str(), nullptr, false);
      const auto& props = m.get_properties();
      if (props.contains(mqtt::property::RESPONSE_TOPIC))
        r.response_topic = mqtt::get<std::string>(props, mqtt::property::RESPONSE_TOPIC);
      if (props.contains(mqtt::property::CORRELATION_DATA))
        r.correlation = mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA);
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(r);
      }
      const bool shared = shared_reply_ || r.response_topic.empty();
      for (const auto& reply : answer_(r.body)) {
        auto msg = mqtt::make_message(shared ? base_ + "/cmd/reply" : r.response_topic, reply.dump(), 1, false);
        if (!shared && !r.correlation.empty()) {
          mqtt::properties props_out;
          props_out.add(mqtt::property(mqtt::property::CORRELATION_DATA, r.correlation));
          msg->set_properties(std::move(props_out));
        }
        client_.publish(msg);  // not waited on: this is Paho's callback thread
      }
    } catch (...) {
    }
  }

  std::string base_;
  Answer answer_;
  bool shared_reply_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  mqtt::async_client client_;  // last: destroyed first, so no callback outlives the members above
};

std::vector<json> ok_echo(const json& request) {
  json reply = request;
  reply.erase("cmd");
  reply["ok"] = true;
  return {reply};
}

struct Run {
  int code;
  std::string output;  // stdout and stderr together
  std::chrono::milliseconds took;
};

Run tallyctl(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), TALLYCTL_PATH);
  const auto log = dir.file("tallyctl-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
                            ".log");
  const auto start = std::chrono::steady_clock::now();
  Process p(args, log);
  const auto code = p.wait(30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  INFO(p.log());
  REQUIRE(code.has_value());
  return {*code, p.log(), took};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A broker of its own in a temp dir (no persistence: nothing here outlives it).
struct WithPlainBroker : WithBroker {
  WithPlainBroker() : WithBroker({.persistence = false}) {}
};

// ... and the configuration tallyctl reads: station bench-1 on that broker.
struct WithStationConfig : WithPlainBroker {
  std::string config_file = dir.write("tally.toml", config(""));
};

}  // namespace

TEST_CASE_METHOD(WithStationConfig, "tallyctl sends a command with a response topic and prints the ok reply, exit 0") {
  Responder responder(broker.url(), base, ok_echo);

  const auto r = tallyctl(dir, {"--config", config_file, "batch.start", "batch=B-1042", "recipe=lavender-soap"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, "\"ok\": true"));  // pretty-printed
  CHECK(has(r.output, "\"batch\": \"B-1042\""));

  const auto requests = responder.requests();
  REQUIRE(requests.size() == 1);
  const auto& q = requests[0];
  CHECK(q.body["cmd"] == "batch.start");
  CHECK(q.body["batch"] == "B-1042");
  CHECK(q.body["recipe"] == "lavender-soap");
  REQUIRE(q.body["id"].is_string());
  CHECK(q.response_topic.rfind(base + "/cmd/reply/tallyctl-", 0) == 0);
  CHECK(!q.correlation.empty());
}

TEST_CASE_METHOD(WithStationConfig, "tallyctl exits 1 and shows the error on an ok false reply") {
  Responder responder(broker.url(), base, [](const json& q) {
    return std::vector<json>{{{"id", q["id"]}, {"ok", false}, {"error", "no active batch"}}};
  });

  const auto r = tallyctl(dir, {"--config", config_file, "step.next"});
  INFO(r.output);
  CHECK(r.code == 1);
  CHECK(has(r.output, "\"ok\": false"));
  CHECK(has(r.output, "step.next failed: no active batch"));
}

TEST_CASE_METHOD(WithStationConfig, "tallyctl types request arguments: numbers, booleans, strings and raw JSON") {
  Responder responder(broker.url(), base, ok_echo);

  const auto r = tallyctl(dir, {"--config", config_file, "work_order.start", "work_order=WO-7", "target=40", "ratio=2.5",
                                "neg=-3", "rush=true", "late=false", "lead=0012", "phrase=hello world", "empty=",
                                "word=null", "raw:={\"a\": [1, null]}", "quoted:=\"1234\"", "eq=a=b"});
  INFO(r.output);
  REQUIRE(r.code == 0);
  const auto requests = responder.requests();
  REQUIRE(requests.size() == 1);
  const auto& q = requests[0].body;
  CHECK(q["work_order"] == "WO-7");
  CHECK(q["target"].is_number_integer());
  CHECK(q["target"] == 40);
  CHECK(q["ratio"].is_number_float());
  CHECK(q["ratio"] == 2.5);
  CHECK(q["neg"] == -3);
  CHECK(q["rush"] == true);
  CHECK(q["late"] == false);
  CHECK(q["lead"] == "0012");  // not a JSON number (leading zeros): stays a string
  CHECK(q["phrase"] == "hello world");
  CHECK(q["empty"] == "");
  CHECK(q["word"] == "null");  // only numbers and booleans are converted
  CHECK(q["raw"] == json::parse(R"({"a": [1, null]})"));
  CHECK(q["quoted"] == "1234");
  CHECK(q["eq"] == "a=b");
}

TEST_CASE_METHOD(WithStationConfig, "tallyctl ignores replies to other requests until the matching one arrives") {
  Responder responder(broker.url(), base, [](const json& q) {
    return std::vector<json>{{{"id", "someone-else"}, {"ok", false}, {"error", "not yours"}},
                             {{"id", q["id"]}, {"ok", true}, {"state", "idle"}}};
  });

  const auto r = tallyctl(dir, {"--config", config_file, "status"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, "\"state\": \"idle\""));
  CHECK(!has(r.output, "not yours"));
}

TEST_CASE_METHOD(WithStationConfig,
                 "tallyctl accepts a reply on the shared cmd reply topic from a daemon that ignores response topics") {
  Responder responder(broker.url(), base, ok_echo, /*shared_reply=*/true);

  const auto r = tallyctl(dir, {"--config", config_file, "unit.add", "serial=SN-0001"});
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(has(r.output, "\"serial\": \"SN-0001\""));
}

TEST_CASE_METHOD(WithStationConfig, "with nobody answering tallyctl exits 3 within its timeout and names the broker") {

  const auto r = tallyctl(dir, {"--config", config_file, "--timeout", "1", "status"});
  INFO(r.output);
  CHECK(r.code == 3);
  CHECK(r.took < 4s);
  CHECK(has(r.output, "no reply to status within 1 s"));
  CHECK(has(r.output, broker.url()));
}

TEST_CASE("tallyctl exits 3 for an unreachable broker and says which broker") {
  TempDir dir;
  const std::string url = "tcp://127.0.0.1:" + std::to_string(free_loopback_port());
  const auto r = tallyctl(dir, {"--url", url, "--base", base, "--config", dir.write("tally.toml",
                                "[station]\nid = \"bench-1\"\n"), "--timeout", "2", "status"});
  INFO(r.output);
  CHECK(r.code == 3);
  CHECK(r.took < 5s);
  CHECK(has(r.output, "cannot connect to the broker at " + url));
}

TEST_CASE("tallyctl usage errors exit 2 before connecting") {
  TempDir dir;
  const auto config = dir.write("tally.toml", "[station]\nid = \"bench-1\"\n");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},                                      // no command
           {"status", "verbose"},                   // not key=value
           {"unit.add", "=x"},                      // no key
           {"unit.add", "serial=1", "serial=2"},    // twice
           {"unit.add", "id=mine"},                 // reserved
           {"unit.add", "tags:=[1,"},               // invalid raw JSON
           {"--timeout", "soon", "status"},         // bad timeout
           {"--timeout", "0", "status"},
           {"--frobnicate", "status"},              // unknown option
           {"--config"},                            // missing value
           {"watch", "a/#/b"},                      // bad filter
           {"watch", "a/#", "b/#"},                 // two filters
       }) {
    std::vector<std::string> argv = {"--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = tallyctl(dir, argv);
    INFO(r.output);
    CHECK(r.code == 2);
    CHECK(has(r.output, "tallyctl: "));
  }
  const auto help = tallyctl(dir, {"--help"});
  CHECK(help.code == 0);
  CHECK(has(help.output, "tallyctl batch.start batch=B-1042 recipe=lavender-soap"));
}

TEST_CASE("tallyctl exits 78 on a broken configuration with every problem's position") {
  TempDir dir;
  const auto path = dir.write("bad.toml", "[station]\nid = \"s 1\"\nmode = \"batch\"\n[mqtt]\nkeepalive_s = \"x\"\n");
  const auto r = tallyctl(dir, {"--config", path, "status"});
  INFO(r.output);
  CHECK(r.code == 78);
  CHECK(has(r.output, path + ":2:6: [station] id: must match [A-Za-z0-9_-]+"));
  CHECK(has(r.output, path + ":3:8: [station] mode:"));
  CHECK(has(r.output, path + ":5:"));
  const auto missing = tallyctl(dir, {"--config", dir.file("missing.toml"), "status"});
  CHECK(missing.code == 78);
  CHECK(has(missing.output, "cannot read the configuration file"));
}

TEST_CASE_METHOD(WithPlainBroker, "tallyctl --url and --base override the configuration's broker and base topic") {
  Responder responder(broker.url(), "acme/plant1/bench-9", ok_echo);
  // The configured broker does not exist: only the override can work.
  const auto config = dir.write(
      "tally.toml", "[station]\nid = \"bench-1\"\n[mqtt]\nurl = \"tcp://127.0.0.1:" +
                        std::to_string(free_loopback_port()) + "\"\n");
  const auto r =
      tallyctl(dir, {"--config", config, "--url", broker.url(), "--base", "acme/plant1/bench-9", "scale.tare",
                     "device=bench-scale"});
  INFO(r.output);
  CHECK(r.code == 0);
  REQUIRE(responder.requests().size() == 1);
  CHECK(responder.requests()[0].response_topic.rfind("acme/plant1/bench-9/cmd/reply/", 0) == 0);
}

TEST_CASE("tallyctl presents the configuration's username and password like tallyd") {
  TempDir dir;
  {
    Process p({"/bin/sh", "-c", "mosquitto_passwd -c -b '" + dir.file("passwd") + "' tally s3cret"},
              dir.file("passwd.log"));
    REQUIRE(p.wait(10s) == std::optional<int>(0));
  }
  Broker broker(dir.path(), {.persistence = false, .secure_listener = "allow_anonymous false\npassword_file " + dir.file("passwd")});
  Responder responder(broker.url(), base, ok_echo);  // on the open listener
  auto config_with = [&](const std::string& secret_file) {
    return "[station]\nid = \"bench-1\"\n[mqtt]\nurl = \"tcp://127.0.0.1:" + std::to_string(broker.secure_port()) +
           "\"\nusername = \"tally\"\npassword_file = \"" + secret_file + "\"\n";
  };
  dir.write("secret", "s3cret\n");
  dir.write("wrong", "nope\n");

  auto r = tallyctl(dir, {"--config", dir.write("good.toml", config_with("secret")), "status"});
  INFO(r.output);
  CHECK(r.code == 0);

  r = tallyctl(dir, {"--config", dir.write("bad.toml", config_with("wrong")), "--timeout", "3", "status"});
  INFO(r.output);
  CHECK(r.code == 3);
  CHECK(has(r.output, "cannot connect to the broker at tcp://127.0.0.1:" + std::to_string(broker.secure_port())));
}

TEST_CASE_METHOD(WithStationConfig,
                 "tallyctl watch prints topic and payload lines until SIGINT or SIGTERM, then exits 0") {
  Responder responder(broker.url(), base, ok_echo);

  SECTION("everything under the base topic, stopped by SIGINT") {
    Process watch({TALLYCTL_PATH, "--config", config_file, "watch"}, dir.file("watch.log"));
    REQUIRE(wait_until([&] { return has(watch.log(), "watching " + base + "/#"); }));
    responder.publish(base + "/events", R"({"seq":1,"event":"daemon.started"})");
    responder.publish("other/station/events", "not shown");
    responder.publish(base + "/readings/kettle", R"({"seq":2,"value":21.5})");
    REQUIRE(wait_until([&] { return has(watch.log(), base + "/readings/kettle {\"seq\":2,\"value\":21.5}\n"); }));
    CHECK(has(watch.log(), base + "/events {\"seq\":1,\"event\":\"daemon.started\"}\n"));
    CHECK(!has(watch.log(), "not shown"));
    watch.signal(SIGINT);
    CHECK(watch.wait(5s) == std::optional<int>(0));
  }
  SECTION("a filter, stopped by SIGTERM") {
    Process watch({TALLYCTL_PATH, "--config", config_file, "watch", base + "/readings/#"}, dir.file("watch.log"));
    REQUIRE(wait_until([&] { return has(watch.log(), "watching " + base + "/readings/#"); }));
    responder.publish(base + "/events", "event-not-shown");
    responder.publish(base + "/readings/scale", "42");
    REQUIRE(wait_until([&] { return has(watch.log(), base + "/readings/scale 42\n"); }));
    CHECK(!has(watch.log(), "event-not-shown"));
    watch.signal(SIGTERM);
    CHECK(watch.wait(5s) == std::optional<int>(0));
  }
}
