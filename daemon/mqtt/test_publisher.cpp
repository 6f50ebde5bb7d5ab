// The publisher's window, connection epochs, retries and refusal policy against a scripted MQTT link, with a real
// SQLite buffer and the real event loop (its timers pace the retries).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "buffer/buffer.hpp"
#include "loop/event_loop.hpp"
#include "mqtt/fake_link.hpp"
#include "mqtt/publisher.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;
using namespace std::chrono_literals;

namespace {

using test::FakeLink;

Record reading(int i) {
  return {RecordKind::reading, "readings/kettle", json{{"value", i}}};
}

struct Rig {
  test::TempDir dir;
  EventLoop loop;
  Buffer buffer{BufferOptions{dir.file("buffer.db"), 256ull << 20, false}};
  FakeLink* link;
  Publisher publisher;
  std::vector<std::tuple<Seq, std::string, int>> refused;
  std::vector<std::pair<std::string, std::uint64_t>> resumed;

  Rig() : Rig(std::make_unique<FakeLink>()) {}
  explicit Rig(std::unique_ptr<FakeLink> l) : link(l.get()), publisher(std::move(l), "tally/s1", loop, buffer) {
    publisher.on_refused = [this](Seq seq, const std::string& topic, int reason, const std::string&) {
      refused.emplace_back(seq, topic, reason);
    };
    publisher.on_resumed = [this](const std::string& topic, std::uint64_t count) { resumed.emplace_back(topic, count); };
  }
  void append(int n) {
    for (int i = 0; i < n; ++i) buffer.append(reading(i));
    buffer.commit();
    publisher.pump();
  }
  void connect() {
    publisher.start();
    link->accept_connect();
  }
  // Runs the loop until `pred` holds (timers fire) or the deadline passes.
  template <class Pred>
  bool run_until(Pred&& pred, std::chrono::milliseconds deadline = 5s) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      loop.run_once(20ms);
      buffer.commit();
      publisher.pump();
    }
    return true;
  }
};

}  // namespace

TEST_CASE("the publisher keeps at most 20 publishes unacknowledged and deletes a record only on its PUBACK") {
  Rig r;
  r.connect();
  r.append(50);
  CHECK(r.link->open.size() == 20);
  CHECK(r.buffer.count() == 50);
  // Five acknowledgements make room for exactly five more.
  for (int i = 0; i < 5; ++i) r.link->ack(r.link->open.begin()->first);
  r.buffer.commit(true);
  CHECK(r.link->open.size() == 20);
  CHECK(r.link->sent.size() == 25);
  CHECK(r.buffer.count() == 45);
  r.run_until([&] {
    r.link->ack_all();
    return r.publisher.drained();
  });
  r.buffer.commit(true);
  CHECK(r.buffer.count() == 0);
  const auto seqs = r.link->record_seqs_sent();
  REQUIRE(seqs.size() == 50);
  CHECK(std::is_sorted(seqs.begin(), seqs.end()));
}

TEST_CASE("replies and retained state wait for the same window as records, and state is coalesced per topic") {
  Rig r;
  r.connect();
  r.append(20);  // the window is full of records
  r.publisher.publish_reply("tally/s1/cmd/reply", R"({"id":1,"ok":true})", "corr-1");
  r.publisher.publish_state("context", "A");
  r.publisher.publish_state("context", "B");  // replaces A before it was sent
  CHECK(r.link->sent.size() == 20);
  r.link->ack(r.link->open.begin()->first);
  r.link->ack(r.link->open.begin()->first);
  REQUIRE(r.link->sent.size() == 22);
  CHECK(r.link->sent[20].topic == "tally/s1/cmd/reply");
  CHECK(r.link->sent[20].correlation == "corr-1");
  CHECK(r.link->sent[21].topic == "tally/s1/context");
  CHECK(r.link->sent[21].payload == "B");
  CHECK(r.link->sent[21].retain);
}

TEST_CASE("at most max_replies replies wait, the oldest are dropped first") {
  Rig r;
  r.connect();
  r.append(20);
  for (std::size_t i = 0; i < Publisher::max_replies + 10; ++i)
    r.publisher.publish_reply("resp/" + std::to_string(i), "{}", "");
  r.run_until([&] {
    r.link->ack_all();
    return r.link->open.empty();
  });
  std::vector<std::string> reply_topics;
  for (const auto& s : r.link->sent)
    if (s.topic.rfind("resp/", 0) == 0) reply_topics.push_back(s.topic);
  REQUIRE(reply_topics.size() == Publisher::max_replies);
  CHECK(reply_topics.front() == "resp/10");
  CHECK(reply_topics.back() == "resp/" + std::to_string(Publisher::max_replies + 9));
}

TEST_CASE("after a lost connection the publisher reconnects with back-off and resends from the oldest unacknowledged") {
  Rig r;
  r.connect();
  r.append(30);
  // Ten acknowledged, then the connection drops with ten more in flight.
  for (int i = 0; i < 10; ++i) r.link->ack(r.link->open.begin()->first);
  r.buffer.commit(true);
  r.link->lose();
  r.link->open.clear();
  CHECK_FALSE(r.publisher.connected());
  const auto sent_before = r.link->sent.size();
  REQUIRE(r.run_until([&] { return r.link->connects == 2; }, 3s));  // the reconnect timer fired
  r.link->accept_connect();
  r.run_until([&] { return r.link->open.size() == 20; }, 1s);
  REQUIRE(r.link->sent.size() > sent_before);
  CHECK(r.link->record_seqs_sent()[sent_before] == 11);  // the oldest unacknowledged goes first
  r.run_until([&] {
    r.link->ack_all();
    return r.publisher.drained();
  });
  CHECK(r.buffer.count() == 0);
}

TEST_CASE("a record the broker refuses pauses the stream, is retried, set aside after 3 refusals, never deleted, "
          "and offered again until taken, in seq order within its topic") {
  Rig r;
  r.connect();
  r.append(5);
  const auto seq_of = [&](std::uint64_t token) { return std::stoll(r.link->open.at(token).payload.substr(7)); };
  // seq 3 is refused; 1, 2, 4, 5 are acknowledged.
  std::uint64_t refused_token = 0;
  for (auto [token, s] : std::map(r.link->open)) {
    if (seq_of(token) == 3) refused_token = token;
    else r.link->ack(token);
  }
  r.link->refuse(refused_token);
  CHECK(r.refused.empty());
  r.append(3);  // seq 6..8 wait behind the refused record
  CHECK(r.link->open.empty());
  for (int attempt = 2; attempt <= 3; ++attempt) {
    REQUIRE(r.run_until([&] { return !r.link->open.empty(); }, 6s));  // resent after the back-off
    const auto token = r.link->open.begin()->first;
    CHECK(seq_of(token) == 3);
    // Only the refused record goes again first: the ones after it wait for its answer... or go with it.
    for (auto [t, s] : std::map(r.link->open))
      if (seq_of(t) != 3) r.link->ack(t);
    r.link->refuse(token);
  }
  REQUIRE(r.refused.size() == 1);
  CHECK(std::get<0>(r.refused[0]) == 3);
  CHECK(std::get<1>(r.refused[0]) == "tally/s1/readings/kettle");
  CHECK(std::get<2>(r.refused[0]) == 0x87);
  // Set aside, not deleted: it stays in the buffer (6..8 went with its retries and were taken).
  r.buffer.commit(true);
  CHECK(r.buffer.count() == 1);
  CHECK(r.publisher.set_aside_count() == 1);
  CHECK(r.publisher.drained());  // nothing else is waiting: a shutdown does not wait for the broker's ACL
  // Offered again after the back-off: still refused, then taken; the rest of the topic follows in order.
  REQUIRE(r.run_until([&] { return r.link->open_records() == 1; }, 8s));
  CHECK(seq_of(r.link->open.begin()->first) == 3);
  r.link->refuse(r.link->open.begin()->first);
  // Meanwhile the topic's new records join it, unsent, so that the set-aside ones stay in seq order.
  r.append(2);  // 9, 10
  CHECK(r.link->open_records() == 0);
  r.buffer.commit(true);
  CHECK(r.buffer.count() == 3);
  CHECK(r.publisher.set_aside_count() == 3);
  REQUIRE(r.run_until(
      [&] {
        r.link->ack_all();
        return !r.resumed.empty();
      },
      15s));  // the second offer comes 10 s after the first (back-off doubling)
  CHECK(r.resumed == std::vector<std::pair<std::string, std::uint64_t>>{{"tally/s1/readings/kettle", 3}});
  r.buffer.commit(true);
  CHECK(r.buffer.count() == 0);
  CHECK(r.publisher.set_aside_count() == 0);
  // publish.refused for 3, and for 9 and 10 as they joined it; the offers refused again add none.
  REQUIRE(r.refused.size() == 3);
  CHECK(std::get<0>(r.refused[1]) == 9);
  CHECK(std::get<0>(r.refused[2]) == 10);
  CHECK(std::get<2>(r.refused[2]) == 0x87);  // with the topic's last refusal
  const auto seqs = r.link->record_seqs_sent();
  const auto first_6 = std::find(seqs.begin(), seqs.end(), 6);
  REQUIRE(first_6 != seqs.end());
  CHECK(std::find(seqs.begin(), first_6, 3) != first_6);  // 3 was tried before 6 was ever sent
  // The set-aside records went in seq order: 3 (refused, then taken), then 9 and 10, which had waited behind it.
  REQUIRE(seqs.size() >= 3);
  CHECK(std::vector<long long>(seqs.end() - 3, seqs.end()) == std::vector<long long>{3, 9, 10});
}

TEST_CASE("set-aside records are offered again at once after a reconnect, and other topics never wait for them") {
  Rig r;
  r.connect();
  r.append(1);  // seq 1 on readings/kettle
  const auto seq_of = [&](std::uint64_t token) { return std::stoll(r.link->open.at(token).payload.substr(7)); };
  for (int attempt = 1; attempt <= 3; ++attempt) {
    REQUIRE(r.run_until([&] { return r.link->open_records() == 1; }, 6s));
    r.link->refuse(r.link->open.begin()->first);
  }
  REQUIRE(r.refused.size() == 1);
  // An event (another topic) goes at once while the reading waits.
  r.buffer.append(Record{RecordKind::event, "events", json{{"event", "x"}}});
  r.buffer.commit();
  r.publisher.pump();
  REQUIRE(r.link->open.size() == 1);
  CHECK(r.link->open.begin()->second.topic == "tally/s1/events");
  r.link->ack_all();
  // The connection drops and comes back: the set-aside record is offered at once, not after its back-off.
  r.link->lose();
  r.publisher.start();
  r.link->accept_connect();
  REQUIRE(r.run_until([&] { return r.link->open_records() == 1; }, 500ms));
  CHECK(seq_of(r.link->open.begin()->first) == 1);
  r.link->ack_all();
  REQUIRE(r.run_until([&] { return !r.resumed.empty(); }, 1s));
  CHECK(r.resumed[0].second == 1);
}

TEST_CASE("a delivery failure while still connected resends from the failed record") {
  Rig r;
  r.connect();
  r.append(3);
  const auto first = r.link->open.begin()->first;
  r.link->open.erase(first);
  r.link->events.delivered(Delivery{first, false, false, 0, "rc -3"});
  for (auto [t, s] : std::map(r.link->open)) r.link->ack(t);
  REQUIRE(r.run_until([&] { return !r.link->open.empty(); }, 3s));
  CHECK(std::stoll(r.link->open.begin()->second.payload.substr(7)) == 1);
  REQUIRE(r.run_until([&] {
    r.link->ack_all();
    return r.publisher.drained();
  }));
}
