// Push notifications against a real HTTP endpoint on 127.0.0.1 (support/http_sink.hpp), with libcurl on the
// notifier's worker thread and results handed back through a real event loop.
#include <catch2/catch.hpp>

#include "notify/notifier.hpp"
#include "support/http_sink.hpp"
#include "support/wait.hpp"

using namespace tally;
using namespace tally::test;
using namespace std::chrono;

namespace {

const wall_time w0 = wall_time(milliseconds(1795515302000));  // 2026-11-24T10:15:02Z

AlarmTransition transition(AlarmTransition::Kind kind, const std::string& id, Severity severity = Severity::critical) {
  Alarm a;
  a.id = id;
  a.kind = "rule";
  a.severity = severity;
  a.message = "kettle 97 degC above 95 degC for 5 s";
  a.device = "kettle";
  a.value = 97;
  a.limit = 95;
  a.unit = "degC";
  a.since = w0;
  a.context.batch = "B-1042";
  a.context.recipe = "lavender-soap";
  a.context.step = "heat-oils";
  a.context.step_no = 3;
  if (kind == AlarmTransition::Kind::acknowledged) a.acknowledged_by = "ana";
  return {kind, a, kind == AlarmTransition::Kind::cleared ? "back within limits" : "", w0 + 10s};
}

NotifyTarget target(const std::string& url, Severity min = Severity::warning,
                    NotifyFormat format = NotifyFormat::webhook) {
  NotifyTarget t;
  t.name = "phone";
  t.url = url;
  t.min_severity = min;
  t.format = format;
  t.timeout_s = 2;
  return t;
}

// Runs the loop until `ready` or the deadline.
template <class Ready>
bool run_until(EventLoop& loop, Ready&& ready, milliseconds deadline = seconds(15)) {
  const auto end = steady_clock::now() + deadline;
  while (!ready() && steady_clock::now() < end) loop.run_once(milliseconds(20));
  return ready();
}

}  // namespace

TEST_CASE("a notice reads on a lock screen: station, alarm, value vs limit, batch and step") {
  const Notice n = make_notice(transition(AlarmTransition::Kind::raised, "kettle-overheat"), "bench-1", 42);
  CHECK(n.id == "bench-1-42");
  CHECK(n.title == "bench-1: kettle-overheat (critical)");
  CHECK(n.message ==
        "kettle 97 degC above 95 degC for 5 s\nValue 97 degC, limit 95 degC\nBatch B-1042 (lavender-soap), step 3 "
        "heat-oils\n2026-11-24T10:15:12.000Z");
  const Notice c = make_notice(transition(AlarmTransition::Kind::cleared, "kettle-overheat"), "bench-1", 43);
  CHECK(c.title == "bench-1: kettle-overheat cleared");
  CHECK(c.message.find("\nCleared: back within limits\n") != std::string::npos);
  const Notice a = make_notice(transition(AlarmTransition::Kind::acknowledged, "kettle-overheat"), "bench-1", 44);
  CHECK(a.title == "bench-1: kettle-overheat acknowledged by ana");
}

TEST_CASE("a webhook gets a JSON object and ntfy gets its JSON publishing format at the server root") {
  const Notice n = make_notice(transition(AlarmTransition::Kind::raised, "kettle-overheat"), "bench-1", 42);
  const HttpRequest hook = request_for(target("https://hooks.example.com/T0/B0/xyz"), n);
  CHECK(hook.url == "https://hooks.example.com/T0/B0/xyz");
  CHECK(hook.headers == std::vector<std::string>{"Content-Type: application/json"});
  const json body = json::parse(hook.body);
  CHECK(body["title"] == n.title);
  CHECK(body["body"] == n.message);
  CHECK(body["text"] == n.title + "\n" + n.message);  // what Slack and Mattermost show
  CHECK(body["id"] == "bench-1-42");
  CHECK(body["alarm"] == "kettle-overheat");
  CHECK(body["transition"] == "raised");
  CHECK(body["value"] == 97.0);
  CHECK(body["limit"] == 95.0);
  CHECK(body["batch"] == "B-1042");
  CHECK(body["step"] == "heat-oils");

  // docs.ntfy.sh/publish/#publish-as-json: POST to the root URL, "topic" in the body, priority 1..5, tags as emoji
  // short codes.
  const HttpRequest ntfy =
      request_for(target("https://ntfy.example.com/bench-1-x7Qk?auth=tk_abc", Severity::warning, NotifyFormat::ntfy), n);
  CHECK(ntfy.url == "https://ntfy.example.com/?auth=tk_abc");
  const json nb = json::parse(ntfy.body);
  CHECK(nb["topic"] == "bench-1-x7Qk");
  CHECK(nb["title"] == n.title);
  CHECK(nb["message"] == n.message);
  CHECK(nb["priority"] == 5);
  CHECK(nb["tags"] == json::array({"rotating_light"}));
  const Notice cleared = make_notice(transition(AlarmTransition::Kind::cleared, "kettle-overheat"), "bench-1", 43);
  CHECK(json::parse(request_for(target("https://ntfy.sh/t", Severity::info, NotifyFormat::ntfy), cleared).body)["priority"] == 3);
}

TEST_CASE("each transition reaches the endpoint exactly once, in order, filtered by min_severity") {
  HttpSink sink;
  EventLoop loop;
  int saves = 0;
  Notifier notifier(loop, [&] { ++saves; });
  notifier.configure({target(sink.url(), Severity::warning)});
  CHECK(notifier.enqueue(make_notice(transition(AlarmTransition::Kind::raised, "a"), "bench-1", 1)) == 1);
  CHECK(notifier.enqueue(make_notice(transition(AlarmTransition::Kind::raised, "low", Severity::info), "bench-1", 2)) == 0);
  notifier.enqueue(make_notice(transition(AlarmTransition::Kind::acknowledged, "a"), "bench-1", 3));
  notifier.enqueue(make_notice(transition(AlarmTransition::Kind::cleared, "a"), "bench-1", 4));
  REQUIRE(run_until(loop, [&] { return notifier.queued() == 0; }));
  const auto seen = sink.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].path == "/hook");
  CHECK(json::parse(seen[0].body)["id"] == "bench-1-1");
  CHECK(json::parse(seen[1].body)["id"] == "bench-1-3");
  CHECK(json::parse(seen[2].body)["id"] == "bench-1-4");
  CHECK(saves >= 6);  // every change of the queue is saved: 3 queued, 3 sent
}

TEST_CASE("an endpoint that is down gets its notices once it is back and a restart in between loses none") {
  HttpSink sink;
  sink.stop();  // connection refused, as from a network that is down
  std::string saved;
  {
    EventLoop loop;
    Notifier notifier(loop, [] {});
    notifier.configure({target(sink.url())});
    notifier.enqueue(make_notice(transition(AlarmTransition::Kind::raised, "a"), "bench-1", 7));
    notifier.enqueue(make_notice(transition(AlarmTransition::Kind::cleared, "a"), "bench-1", 8));
    run_until(loop, [] { return false; }, milliseconds(300));  // the first attempt fails
    CHECK(notifier.queued() == 2);
    saved = notifier.save();
  }  // the daemon stops (or is killed after its last commit)
  EventLoop loop;
  Notifier notifier(loop, [] {});
  notifier.configure({target(sink.url())});
  notifier.restore(saved);
  CHECK(notifier.queued() == 2);
  run_until(loop, [] { return false; }, milliseconds(500));  // still down: retried with back-off
  CHECK(sink.requests().empty());
  sink.start();
  REQUIRE(run_until(loop, [&] { return notifier.queued() == 0; }));
  const auto seen = sink.requests();
  REQUIRE(seen.size() == 2);
  CHECK(json::parse(seen[0].body)["transition"] == "raised");
  CHECK(json::parse(seen[1].body)["transition"] == "cleared");
}

TEST_CASE("a 5xx is retried and a 4xx is dropped") {
  HttpSink sink;
  sink.set_status(503);
  EventLoop loop;
  Notifier notifier(loop, [] {});
  notifier.configure({target(sink.url())});
  notifier.enqueue(make_notice(transition(AlarmTransition::Kind::raised, "a"), "bench-1", 1));
  REQUIRE(sink.wait_for([](const auto& r) { return r.size() == 1; }));
  run_until(loop, [] { return false; }, milliseconds(100));
  CHECK(notifier.queued() == 1);
  sink.set_status(200);
  REQUIRE(run_until(loop, [&] { return notifier.queued() == 0; }));
  CHECK(sink.requests().size() == 2);
  sink.set_status(404);
  notifier.enqueue(make_notice(transition(AlarmTransition::Kind::cleared, "a"), "bench-1", 2));
  REQUIRE(run_until(loop, [&] { return notifier.queued() == 0; }));
  CHECK(sink.requests().size() == 3);
}
