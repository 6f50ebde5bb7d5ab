#include <catch2/catch.hpp>

#include <thread>

#include "loop/event_loop.hpp"

using namespace tally;
using namespace std::chrono;

namespace {
// Runs the loop until `done` or the deadline; returns whether `done` became true.
template <class Done>
bool run_until(EventLoop& loop, Done done, milliseconds deadline = seconds(5)) {
  const auto end = steady_clock::now() + deadline;
  while (!done() && steady_clock::now() < end) loop.run_once(milliseconds(50));
  return done();
}
}  // namespace

TEST_CASE("a one-shot timer fires once and is no longer armed") {
  EventLoop loop;
  int fired = 0;
  Timer t(loop, [&] { ++fired; });
  CHECK_FALSE(t.armed());
  t.arm(milliseconds(10));
  CHECK(t.armed());
  REQUIRE(run_until(loop, [&] { return fired == 1; }));
  CHECK_FALSE(t.armed());
  loop.run_once(milliseconds(60));
  CHECK(fired == 1);
}

TEST_CASE("a periodic timer keeps firing and stays armed until disarmed") {
  EventLoop loop;
  int fired = 0;
  Timer t(loop, [&] { ++fired; });
  t.arm(milliseconds(5), milliseconds(5));
  REQUIRE(run_until(loop, [&] { return fired >= 3; }));
  CHECK(t.armed());
  t.disarm();
  CHECK_FALSE(t.armed());
  const int after = fired;
  loop.run_once(milliseconds(40));
  CHECK(fired == after);
}

TEST_CASE("a moved timer still fires its callback, and a destroyed one never does") {
  EventLoop loop;
  int fired = 0;
  Timer a(loop, [&] { ++fired; });
  Timer b = std::move(a);
  b.arm(milliseconds(5));
  REQUIRE(run_until(loop, [&] { return fired == 1; }));
  {
    Timer gone(loop, [&] { fired += 100; });
    gone.arm(milliseconds(1));
  }
  loop.run_once(milliseconds(30));
  CHECK(fired == 1);
}

TEST_CASE("work posted from another thread runs on the loop thread, in order") {
  EventLoop loop;
  std::vector<int> seen;
  std::thread::id ran_on;
  std::thread other([&] {
    for (int i = 0; i < 100; ++i) loop.post([&, i] {
      seen.push_back(i);
      ran_on = std::this_thread::get_id();
    });
  });
  other.join();
  REQUIRE(run_until(loop, [&] { return seen.size() == 100; }));
  CHECK(ran_on == std::this_thread::get_id());
  for (int i = 0; i < 100; ++i) CHECK(seen[i] == i);
}

TEST_CASE("end-of-iteration hooks run after the handlers of each wake-up") {
  EventLoop loop;
  std::vector<std::string> order;
  loop.at_iteration_end([&] { order.push_back("end"); });
  loop.post([&] { order.push_back("a"); });
  loop.post([&] { order.push_back("b"); });
  REQUIRE(run_until(loop, [&] { return order.size() >= 3; }));
  CHECK(order == std::vector<std::string>{"a", "b", "end"});
}
