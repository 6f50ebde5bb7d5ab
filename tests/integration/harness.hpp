#pragma once
// What every end-to-end test needs: a broker, a pseudo-terminal standing in for a serial device, a tallyd process
// reading it, and a subscriber seeing what an owner's dashboard would see. The fixtures below (WithStation,
// WithBroker) build the common part, so that a test says only what is its own: its devices, its configuration,
// what it does and what it expects.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/broker.hpp"
#include "support/process.hpp"
#include "support/pty.hpp"
#include "support/subscriber.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

namespace tally::test {

using json = nlohmann::json;

inline const std::string base = "tally/bench-1";

inline json parse(const Message& m) { return json::parse(m.payload); }

// Whether `topic` carries records (the seq-numbered stream), not state (status, context, devices) or commands.
inline bool record_topic(const std::string& topic) {
  for (const char* kind : {"/readings/", "/events", "/scans", "/units", "/batches"})
    if (topic.rfind(base + kind, 0) == 0) return true;
  return false;
}

// The record stream as received: every message on readings/, events, ... parsed, in arrival order.
inline std::vector<json> records(const std::vector<Message>& all, const std::string& topic_part = "") {
  std::vector<json> out;
  for (const auto& m : all) {
    if (!record_topic(m.topic)) continue;
    if (m.payload.empty() || m.topic.find(topic_part) == std::string::npos) continue;
    out.push_back(json::parse(m.payload));
  }
  return out;
}

// The records as a consumer keeps them: deduplicated on seq (a resend after a reconnect or a restart may deliver a
// record twice), in order of first arrival.
inline std::vector<json> unique_records(const std::vector<Message>& all, const std::string& topic_part = "") {
  std::vector<json> out;
  std::set<long long> seen;
  for (auto& r : records(all, topic_part))
    if (seen.insert(r["seq"].get<long long>()).second) out.push_back(std::move(r));
  return out;
}

inline std::vector<json> events(const std::vector<Message>& all, const std::string& name) {
  std::vector<json> out;
  for (const auto& r : unique_records(all, base + "/events"))
    if (r["event"] == name) out.push_back(r);
  return out;
}

// The seqs in order of FIRST arrival (a resend after a reconnect may deliver a record twice; a consumer dedupes).
inline std::vector<long long> first_seqs(const std::vector<Message>& all) {
  std::vector<long long> out;
  std::set<long long> seen;
  for (const auto& r : records(all))
    if (seen.insert(r["seq"].get<long long>()).second) out.push_back(r["seq"]);
  return out;
}

// The latest payload on `topic`: null when none arrived yet or it was cleared (an empty retained message).
inline json last_on(const std::vector<Message>& all, const std::string& topic) {
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->topic == topic) return it->payload.empty() ? json() : json::parse(it->payload);
  return json();
}

// The first reading of `device` ("" = any device) with this value; null when none arrived.
inline json reading_of(const std::vector<Message>& all, const std::string& device, double value) {
  for (const auto& r : records(all, base + "/readings/" + device))
    if (r["value"] == value) return r;
  return json();
}

inline bool has_reading_value(const std::vector<Message>& all, double value) {
  return !reading_of(all, "", value).is_null();
}

// The seqs up to the highest one received that neither arrived nor lie in a range a buffer.overflow event announced:
// the gaps a consumer could not explain (the contract allows none).
inline std::vector<long long> unannounced_seqs(const std::vector<Message>& all) {
  const auto seqs = first_seqs(all);
  const std::set<long long> got(seqs.begin(), seqs.end());
  const auto overflows = events(all, "buffer.overflow");
  std::vector<long long> out;
  for (long long s = 1; !got.empty() && s <= *got.rbegin(); ++s) {
    bool announced = got.count(s) > 0;
    for (const auto& o : overflows) announced = announced || (o["first_seq"] <= s && s <= o["last_seq"]);
    if (!announced) out.push_back(s);
  }
  return out;
}

// Sends a command the way a dashboard would and returns tallyd's reply (the test fails when none comes).
inline json send(Subscriber& sub, const std::string& id, const std::string& cmd, json args = json::object()) {
  args["id"] = id;
  args["cmd"] = cmd;
  sub.publish(base + "/cmd", args.dump());
  json reply;
  const bool got = sub.wait_for([&](const std::vector<Message>& all) {
    for (const auto& m : all)
      if (m.topic == base + "/cmd/reply" && json::parse(m.payload)["id"] == id) {
        reply = json::parse(m.payload);
        return true;
      }
    return false;
  });
  INFO("command " << cmd << " (" << id << ")");
  REQUIRE(got);
  return reply;
}

// tallyd run with `dir`/tally.toml, its log in `dir`/tallyd-N.log for the Nth start.
struct Daemon {
  TempDir& dir;
  std::string config_path;
  std::unique_ptr<Process> process;
  int starts = 0;
  // What runs tallyd, if not itself: e.g. {"/usr/bin/env", "LD_PRELOAD=..."} to set its environment alone.
  std::vector<std::string> launcher;

  explicit Daemon(TempDir& d) : dir(d), config_path(d.file("tally.toml")) {}
  Daemon(TempDir& d, const std::string& config) : dir(d), config_path(d.write("tally.toml", config)) {}
  void start() {
    std::vector<std::string> argv = launcher;
    argv.insert(argv.end(), {TALLYD_PATH, "--config", config_path, "--log-level", "debug"});
    process = std::make_unique<Process>(std::move(argv), dir.file("tallyd-" + std::to_string(++starts) + ".log"));
  }
  // Writes `config` as the configuration, then starts.
  void start(const std::string& config) {
    dir.write("tally.toml", config);
    start();
  }
  std::string log() const { return process ? process->log() : ""; }
};

// Station bench-1 in process mode, on `broker`, its buffer in `dir`, with `devices` (and whatever else follows them).
inline std::string station_config(const Broker& broker, const TempDir& dir, const std::string& devices,
                                  const std::string& mqtt_extra = "") {
  return "[station]\nid = \"bench-1\"\nmode = \"process\"\n\n[mqtt]\nurl = \"" + broker.url() +
         "\"\nkeepalive_s = 5\n" + mqtt_extra + "\n[buffer]\npath = \"" + dir.file("buffer.db") + "\"\n\n" + devices;
}

// The same station in discrete mode (units and work orders).
inline std::string discrete(std::string config) {
  config.replace(config.find("mode = \"process\""), 16, "mode = \"discrete\"");
  return config;
}

// The broker's options made from the test's temp dir, where it first writes what they name (an ACL, a password
// file, certificates): the broker reads those when it starts.
using BrokerSetup = std::function<BrokerOptions(TempDir& dir)>;

// A temp dir with a broker in it, for tests that talk to the broker without tallyd (tallyctl against a responder).
struct WithBroker {
  explicit WithBroker(BrokerOptions options = {}) : broker(dir.path(), std::move(options)) {}
  explicit WithBroker(const BrokerSetup& setup) : broker(dir.path(), setup(dir)) {}
  // station_config() on this broker and dir.
  std::string config(const std::string& devices, const std::string& mqtt_extra = "") const {
    return station_config(broker, dir, devices, mqtt_extra);
  }
  TempDir dir;
  Broker broker;
};

struct StationOptions {
  BrokerSetup broker = [](TempDir&) { return BrokerOptions{}; };
  std::string filter = "tally/#";  // what the subscriber subscribes to
};
// What an end-to-end test of tallyd starts from: a temp dir, a broker, a subscriber to everything the station
// publishes (connected before tallyd starts, so it misses nothing), and tallyd, which the test starts with its
// configuration: `tallyd.start(config(devices))`. Used as TEST_CASE_METHOD(WithStation, "..."); a test that needs
// other options derives a fixture that passes them.
struct WithStation : WithBroker {
  explicit WithStation(StationOptions options = {})
      : WithBroker(options.broker), sub(broker.url(), options.filter, "e2e-station"), tallyd(dir) {}
  Subscriber sub;
  Daemon tallyd;
};

inline std::string serial_device(const std::string& name, const std::string& port) {
  return "[[devices]]\nname = \"" + name + "\"\ndriver = \"serial-line\"\nport = \"" + port +
         "\"\npattern = 'T=([-0-9.]+)'\nquantity = \"temperature\"\nunit = \"degC\"\n\n";
}

}  // namespace tally::test
