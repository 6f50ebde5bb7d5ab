// RetainedState: the retained topics a viewer reads when it subscribes (B/status, B/context, device states,
// B/batches/last), published on each connection and again only when they change.
#include "station/test_station_rig.hpp"

using namespace tally;
using namespace tally::test;

namespace {
const std::string kKettle = R"(
[[devices]]
name = "kettle"
driver = "simulated"
)";
}

TEST_CASE("a connection gets the station's status, context and every device's state, retained") {
  StationRig r(kKettle);
  r.start();
  r.connect();
  const json status = json::parse(r.retained_payload("status").value());
  CHECK(status["online"] == true);
  CHECK(status.contains("version"));
  CHECK(status.contains("since"));
  CHECK(status["buffered"].is_number_integer());
  CHECK(json::parse(r.retained_payload("context").value())["mode"] == "discrete");
  CHECK(json::parse(r.retained_payload("devices/kettle/state").value())["online"] == true);
  CHECK(RetainedState::offline_status() == R"({"online":false})");
}

TEST_CASE("B/context is published again only when the context changed") {
  StationRig r(kKettle);
  r.start();
  r.connect();
  const auto published = [&] { return r.link->sent_to("tally/s1/context").size(); };
  REQUIRE(published() == 1);
  r.command(R"({"id":1,"cmd":"status"})");
  CHECK(published() == 1);
  r.command(R"({"id":2,"cmd":"operator.set","operator":"ann"})");
  CHECK(published() == 2);
  CHECK(json::parse(r.retained_payload("context").value())["operator"] == "ann");
  // A new connection gets it again, changed or not.
  r.link->lose();
  r.publisher.start();
  r.link->accept_connect();
  CHECK(published() == 3);
}

TEST_CASE("B/batches/last is published once the commit holds the batch record, and again on each connection") {
  StationRig r(kKettle);
  r.start();
  r.connect();
  r.retained.batch_ended(R"({"seq":9,"batch":"B-1"})");
  CHECK_FALSE(r.retained_payload("batches/last").has_value());
  r.end_of_iteration();
  CHECK(r.retained_payload("batches/last") == R"({"seq":9,"batch":"B-1"})");
  r.link->lose();
  r.publisher.start();
  r.link->accept_connect();
  CHECK(r.link->sent_to("tally/s1/batches/last").size() == 2);
}

TEST_CASE("a device gone at a reload has its retained state and chart deleted") {
  StationRig r(kKettle);
  r.start();
  r.connect();
  r.retained.forget_device("kettle");
  CHECK(r.retained_payload("devices/kettle/state") == "");
  CHECK(r.retained_payload("devices/kettle/recent") == "");
}
