#include <catch2/catch.hpp>

#include "devices/report_filter.hpp"

using namespace tally;
using namespace std::chrono;

namespace {
const steady_clock::time_point t0{};
Reading value(double v) { return Reading::measured("temperature", v, "degC"); }
}  // namespace

TEST_CASE("without deadband or interval every reading is published") {
  ReportFilter f(0, 0);
  CHECK(f.pass(value(1), t0));
  CHECK(f.pass(value(1), t0));
}

TEST_CASE("a deadband publishes only moves beyond it, measured from the last published value") {
  ReportFilter f(0.5, 0);
  CHECK(f.pass(value(20.0), t0));
  CHECK_FALSE(f.pass(value(20.4), t0 + 1s));
  CHECK_FALSE(f.pass(value(20.5), t0 + 2s));  // exactly the deadband is not beyond it
  CHECK(f.pass(value(20.6), t0 + 3s));
  CHECK_FALSE(f.pass(value(20.2), t0 + 4s));  // 0.4 from 20.6, not from 20.0
  CHECK(f.pass(value(20.0), t0 + 5s));
}

TEST_CASE("publish_every_s publishes an unchanged value once the interval has passed") {
  ReportFilter f(1.0, 10);
  CHECK(f.pass(value(5), t0));
  CHECK_FALSE(f.pass(value(5), t0 + 9s));
  CHECK(f.pass(value(5), t0 + 10s));
  CHECK_FALSE(f.pass(value(5), t0 + 19s));

  ReportFilter changes_only(0, 10);  // no deadband: any change passes, repeats wait for the interval
  CHECK(changes_only.pass(value(5), t0));
  CHECK_FALSE(changes_only.pass(value(5), t0 + 1s));
  CHECK(changes_only.pass(value(5.01), t0 + 2s));
}

TEST_CASE("a fault or a change of stability always passes the deadband") {
  ReportFilter f(100, 0);
  CHECK(f.pass(value(5), t0));
  CHECK(f.pass(Reading::faulted("temperature", "degC", "open-circuit"), t0 + 1s));
  CHECK_FALSE(f.pass(Reading::faulted("temperature", "degC", "open-circuit"), t0 + 2s));
  CHECK(f.pass(value(5), t0 + 3s));  // back from the fault
  Reading unstable = value(5);
  unstable.stable = false;
  CHECK(f.pass(unstable, t0 + 4s));
}
