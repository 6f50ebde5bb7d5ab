// The command intake against the fake link: what a client on B/cmd sees (its subscription after every connect, its
// reply on the right topic with its correlation data) and what the station is handed.
#include <catch2/catch.hpp>

#include "buffer/buffer.hpp"
#include "loop/event_loop.hpp"
#include "mqtt/command_intake.hpp"
#include "mqtt/fake_link.hpp"
#include "support/temp_dir.hpp"

using namespace tally;
using test::FakeLink;

namespace {

struct Received final : CommandReceiver {
  std::vector<CommandMessage> commands;
  std::uint64_t dropped = 0;
  void command(const CommandMessage& m) override { commands.push_back(m); }
  void commands_dropped(std::uint64_t count) override { dropped += count; }
};

struct Rig {
  test::TempDir dir;
  EventLoop loop;
  Buffer buffer{BufferOptions{dir.file("buffer.db"), 256ull << 20, false}};
  FakeLink* link;
  Publisher publisher;
  CommandIntake intake{publisher, "tally/s1"};
  Received received;

  Rig() : Rig(std::make_unique<FakeLink>()) {}
  explicit Rig(std::unique_ptr<FakeLink> l) : link(l.get()), publisher(std::move(l), "tally/s1", loop, buffer) {
    intake.deliver_to(received);
  }
  void connect() {
    publisher.start();
    link->accept_connect();
  }
};

}  // namespace

TEST_CASE("the intake subscribes B/cmd on every connection and hands each message to the station") {
  Rig r;
  r.connect();
  CHECK(r.link->subscriptions == std::vector<std::string>{"tally/s1/cmd"});
  r.link->deliver("tally/s1/cmd", R"({"id":1,"cmd":"status"})", "app/replies/7", "corr-7");
  REQUIRE(r.received.commands.size() == 1);
  CHECK(r.received.commands[0].payload == R"({"id":1,"cmd":"status"})");
  CHECK(r.received.commands[0].response_topic == "app/replies/7");
  CHECK(r.received.commands[0].correlation == "corr-7");
  r.link->events.messages_dropped(3);
  CHECK(r.received.dropped == 3);
  // A new connection subscribes again (clean session: the broker forgot the subscription).
  r.link->lose();
  r.publisher.start();
  r.link->accept_connect();
  CHECK(r.link->subscriptions == std::vector<std::string>{"tally/s1/cmd", "tally/s1/cmd"});
}

TEST_CASE("a reply goes to the response topic with the correlation data, else to B/cmd/reply") {
  Rig r;
  r.connect();
  r.intake.reply({"{}", "app/replies/7", "corr-7"}, R"({"id":1,"ok":true})");
  r.intake.reply({"{}", "", ""}, R"({"id":2,"ok":false,"error":"x"})");
  REQUIRE(r.link->sent.size() == 2);
  CHECK(r.link->sent[0].topic == "app/replies/7");
  CHECK(r.link->sent[0].correlation == "corr-7");
  CHECK_FALSE(r.link->sent[0].retain);
  CHECK(r.link->sent[1].topic == "tally/s1/cmd/reply");
  CHECK(r.link->sent[1].payload == R"({"id":2,"ok":false,"error":"x"})");
}

TEST_CASE("replies wait for the window that records share") {
  Rig r;
  r.connect();
  for (int i = 0; i < 25; ++i) r.buffer.append(Record{RecordKind::reading, "readings/kettle", json{{"value", i}}});
  r.buffer.commit();
  r.publisher.pump();
  REQUIRE(r.link->open.size() == Publisher::window);
  r.intake.reply({"{}", "", "c"}, R"({"id":1,"ok":true})");
  CHECK(r.link->sent_to("tally/s1/cmd/reply").empty());  // the window is full
  r.link->ack(r.link->open.begin()->first);
  REQUIRE(r.link->sent_to("tally/s1/cmd/reply").size() == 1);  // before the records still waiting
  CHECK(r.link->sent.back().topic == "tally/s1/cmd/reply");
}
