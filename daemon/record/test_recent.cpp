#include <catch2/catch.hpp>

#include "record/recent.hpp"

using namespace tally;
using namespace std::chrono;

namespace {
// 2026-11-24T10:15:00.000Z: a whole minute, so bucket boundaries are easy to read.
constexpr long long minute0 = 1795515300000;
wall_time at(long long ms_after) { return wall_time(milliseconds(minute0 + ms_after)); }
}  // namespace

TEST_CASE("values in one bucket give its count, min, mean and max") {
  RecentSeries s;
  s.describe("temperature", "degC");
  CHECK_FALSE(s.add(at(0), 45.0));
  CHECK_FALSE(s.add(at(20'000), 47.0));
  CHECK_FALSE(s.add(at(59'999), 43.0));
  const json j = s.summary("kettle");
  CHECK(j["device"] == "kettle");
  CHECK(j["quantity"] == "temperature");
  CHECK(j["unit"] == "degC");
  CHECK(j["bucket_s"] == 60);
  CHECK(j["span_s"] == 3600);
  CHECK(j["updated"] == "2026-11-24T10:15:59.999Z");
  REQUIRE(j["buckets"].size() == 1);
  const json& b = j["buckets"][0];
  CHECK(b["ts"] == "2026-11-24T10:15:00.000Z");
  CHECK(b["n"] == 3);
  CHECK(b["min"] == 43.0);
  CHECK(b["mean"] == 45.0);
  CHECK(b["max"] == 47.0);
}

TEST_CASE("the first value of a new bucket says the summary is worth publishing") {
  RecentSeries s;
  CHECK_FALSE(s.add(at(0), 1.0));       // the very first bucket: nothing complete yet
  CHECK(s.add(at(60'000), 2.0));        // 10:16 opens: 10:15 is complete
  CHECK_FALSE(s.add(at(61'000), 3.0));
  CHECK(s.add(at(5 * 60'000), 4.0));    // a gap of minutes: one new bucket, no empty ones in between
  const json j = s.summary("d");
  REQUIRE(j["buckets"].size() == 3);
  CHECK(j["buckets"][1]["mean"] == 2.5);
  CHECK(j["buckets"][2]["ts"] == "2026-11-24T10:20:00.000Z");
}

TEST_CASE("only the last hour is kept: 60 buckets of a minute") {
  RecentSeries s;
  for (int m = 0; m < 90; ++m) s.add(at(m * 60'000LL + 500), m);
  REQUIRE(s.buckets().size() == 60);
  const json j = s.summary("d");
  CHECK(j["buckets"][0]["ts"] == "2026-11-24T10:45:00.000Z");  // minute 30
  CHECK(j["buckets"][0]["min"] == 30.0);
  CHECK(j["buckets"][59]["max"] == 89.0);
  // A reading a second apart for the whole hour still makes a summary of a few KB.
  RecentSeries busy;
  busy.describe("temperature", "degC");
  for (int t = 0; t < 3600; ++t) busy.add(at(t * 1000LL), 45.0 + (t % 7) * 0.3333333);
  CHECK(to_text(busy.summary("kettle")).size() < 6000);
}

TEST_CASE("a late value goes into its own bucket while it is kept") {
  RecentSeries s;
  s.add(at(0), 1.0);
  s.add(at(60'000), 2.0);
  CHECK_FALSE(s.add(at(30'000), 3.0));  // the previous minute, arriving late
  CHECK(s.buckets().front().n == 2);
  CHECK(s.buckets().front().max == 3.0);
}

TEST_CASE("a clock stepped back by more than a bucket starts the series again") {
  RecentSeries s;
  s.add(at(3'600'000), 1.0);
  s.add(at(3'660'000), 2.0);
  CHECK_FALSE(s.add(at(0), 5.0));  // NTP corrected the clock an hour back
  REQUIRE(s.buckets().size() == 1);
  CHECK(s.summary("d")["updated"] == "2026-11-24T10:15:00.000Z");
}

TEST_CASE("non-finite values are not summarised") {
  RecentSeries s;
  CHECK_FALSE(s.add(at(0), std::nan("")));
  CHECK_FALSE(s.add(at(0), INFINITY));
  CHECK(s.summary("d")["buckets"].empty());
  CHECK_FALSE(s.summary("d").contains("updated"));
}

TEST_CASE("means are rounded to 7 significant digits, extremes kept exact") {
  RecentSeries s;
  s.add(at(0), 45.1);
  s.add(at(1), 45.2);
  s.add(at(2), 45.25);
  const json b = s.summary("d")["buckets"][0];
  CHECK(b["mean"] == 45.18333);
  CHECK(b["max"] == 45.25);
}

TEST_CASE("bucket length and count are settable") {
  RecentSeries s(seconds(10), 6);
  for (int t = 0; t < 120; ++t) s.add(at(t * 1000LL), t);
  const json j = s.summary("d");
  CHECK(j["bucket_s"] == 10);
  CHECK(j["span_s"] == 60);
  REQUIRE(j["buckets"].size() == 6);
  CHECK(j["buckets"][0]["min"] == 60.0);
}
