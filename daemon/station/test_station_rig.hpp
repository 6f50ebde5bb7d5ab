#pragma once
// For the station's unit tests: its pieces wired as station.cpp wires them, around a real buffer (in a temporary
// directory), the real event loop, the fake MQTT link and scripted drivers, so that a test sees what a user of the
// station would: the records in the buffer as they will be published, the replies and the retained payloads the
// link was handed, the outputs played and held.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "devices/scripted_driver.hpp"
#include "mqtt/fake_link.hpp"
#include "station/command_dispatch.hpp"
#include "station/commit_cycle.hpp"
#include "station/input_router.hpp"
#include "station/refused_records.hpp"
#include "support/temp_dir.hpp"

namespace tally::test {

// Buzzers and lights as the station drives them.
struct RecordingOutputs final : Outputs {
  std::vector<std::pair<std::string, OutputPattern>> played;
  std::map<std::string, std::map<std::string, bool>> held;  // output -> holder -> on
  bool has(const std::string& output) const override { return output == "buzzer" || output == "light"; }
  void play(const std::string& output, OutputPattern pattern) override { played.emplace_back(output, pattern); }
  void hold(const std::string& output, const std::string& holder, bool on) override { held[output][holder] = on; }
  bool on(const std::string& output) const {
    const auto it = held.find(output);
    if (it == held.end()) return false;
    for (const auto& [holder, h] : it->second)
      if (h) return true;
    return false;
  }
};

// A device on a scripted driver: feed() makes it hand input to the station on the next loop turn.
struct ScriptedDevice {
  Script script;
  int pipe[2] = {-1, -1};
  ScriptedDevice() {
    REQUIRE(::pipe2(pipe, O_NONBLOCK) == 0);
    script.fd = pipe[0];
  }
  ~ScriptedDevice() {
    ::close(pipe[0]);
    ::close(pipe[1]);
  }
};

const std::string kStationToml = R"([station]
id = "s1"
prefix = "tally"
mode = "discrete"
)";

struct StationRig {
  TempDir dir;
  EventLoop loop;
  Config config;
  StampInfo stamp{"s1", true};
  std::string buffer_path;
  Buffer buffer;
  Production production;
  FakeLink* link;
  Publisher publisher;
  CommandIntake intake{publisher, config.base_topic()};
  RecordingOutputs outputs;
  Journal journal{buffer, stamp, production};
  SavedContext saved_context{production, buffer};
  RetainedState retained{publisher, buffer, production};
  StationAlarms alarms{config, loop, buffer, journal, publisher, production, saved_context, &outputs};
  ProductionFlow flow{loop, production, journal, saved_context, alarms, retained};
  std::vector<std::unique_ptr<DeviceRunner>> devices;
  InputRouter input{config.scan_rules, buffer, journal, production, flow, saved_context, alarms, retained, &outputs};
  CommandDispatch commands{config.base_topic(), buffer, journal, intake, production, flow, alarms, retained, devices};
  RefusedRecords refused{loop, config.base_topic() + "/events", journal, alarms};
  CommitCycle commit{loop, buffer, journal, alarms};
  std::map<std::string, std::unique_ptr<ScriptedDevice>> scripted;

  // `toml`: sections after [station] (devices, scan rules, alarms); every device runs a scripted driver.
  explicit StationRig(const std::string& toml = "", std::string buffer_file = "")
      : config(parse_config(kStationToml + toml, "t.toml")),
        buffer_path(buffer_file.empty() ? dir.file("buffer.db") : std::move(buffer_file)),
        buffer(BufferOptions{buffer_path, 256ull << 20, false}),
        production(config.station.mode, config.station.downtime_s, config.recipes, stamp),
        link(new FakeLink),
        publisher(std::unique_ptr<MqttLink>(link), config.base_topic(), loop, buffer) {
    intake.deliver_to(commands);
    publisher.on_connected = [this] {
      retained.republish(devices);
      alarms.republish();
    };
    publisher.on_refused = [this](Seq seq, const std::string& topic, int reason, const std::string& why) {
      refused.refused(seq, topic, reason, why);
    };
    publisher.on_resumed = [this](const std::string& topic, std::uint64_t count) {
      refused.resumed(topic, count, publisher.set_aside_count());
    };
    for (auto& d : config.devices) {
      auto& device = scripted[d.name] = std::make_unique<ScriptedDevice>();
      d.make = [script = &device->script] { return std::make_unique<ScriptedDriver>(*script); };
    }
  }
  ~StationRig() { devices.clear(); }

  // What Station::start does, in its order, without the parts that need a real broker.
  void start() {
    commands.load_remembered();
    input.restore_counters();
    retained.restore_batch_last();
    alarms.restore();
    for (const auto& d : config.devices) devices.push_back(std::make_unique<DeviceRunner>(d, loop, input));
    for (auto& d : devices) d->start();
    end_of_iteration();
  }
  // The broker takes everything it is sent from now on.
  void connect() {
    publisher.start();
    link->accept_connect();
    link->ack_all();
  }
  // The end of a loop iteration as Station wires it.
  void end_of_iteration() {
    if (commit.commit()) {
      commands.send_replies();
      retained.committed();
    }
    commit.report_memory_overflow();
    publisher.pump();
    if (publisher.connected()) link->ack_all();
  }
  // `device` hands input to the station (`give` is its driver's collect), then the loop iteration ends.
  template <class Give>
  void feed(const std::string& device, Give give) {
    ScriptedDevice& d = *scripted.at(device);
    const int before = d.script.collects;
    d.script.on_collect = [&d, give](InputSink& sink) {
      char byte;
      while (::read(d.pipe[0], &byte, 1) == 1) {
      }
      give(sink);
    };
    REQUIRE(::write(d.pipe[1], "x", 1) == 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (d.script.collects == before && std::chrono::steady_clock::now() < deadline)
      loop.run_once(std::chrono::milliseconds(20));
    REQUIRE(d.script.collects > before);
    end_of_iteration();
  }
  // A command on B/cmd, then the end of the loop iteration (the commit that lets its reply go).
  void command(const std::string& payload, const std::string& correlation = "") {
    link->deliver(config.base_topic() + "/cmd", payload, "", correlation);
    end_of_iteration();
  }

  // Every record the broker received, once each, in seq order: (topic under B/, payload).
  std::vector<std::pair<std::string, json>> records() const {
    std::map<long long, std::pair<std::string, json>> by_seq;
    const std::string base = config.base_topic() + "/";
    for (const auto& s : link->sent) {
      if (s.retain || s.topic.rfind(base, 0) != 0) continue;
      const json body = json::parse(s.payload, nullptr, false);
      if (body.is_object() && body.contains("seq")) by_seq[body["seq"].get<long long>()] = {s.topic.substr(base.size()), body};
    }
    std::vector<std::pair<std::string, json>> out;
    for (auto& [seq, record] : by_seq) out.push_back(std::move(record));
    return out;
  }
  std::vector<json> events(const std::string& name) const {
    std::vector<json> out;
    for (const auto& [topic, body] : records())
      if (topic == "events" && body.value("event", "") == name) out.push_back(body);
    return out;
  }
  std::vector<json> on(const std::string& topic) const {
    std::vector<json> out;
    for (const auto& [t, body] : records())
      if (t == topic) out.push_back(body);
    return out;
  }
  // The replies the link was handed on B/cmd/reply, parsed.
  std::vector<json> replies() const {
    std::vector<json> out;
    for (const auto& s : link->sent_to(config.base_topic() + "/cmd/reply")) out.push_back(json::parse(s.payload));
    return out;
  }
  // The latest retained payload on B/<suffix> ("" is a deletion), if any was published.
  std::optional<std::string> retained_payload(const std::string& suffix) const {
    std::optional<std::string> last;
    for (const auto& s : link->sent_to(config.base_topic() + "/" + suffix))
      if (s.retain) last = s.payload;
    return last;
  }
};

}  // namespace tally::test
