// What differs on the Pis tallyd runs on: checked natively and, by tools/package, under qemu-user on arm64 and armhf
// (docs/packaging.md). Each check prints the architecture's figure so the cross logs show it.
#include <catch2/catch.hpp>

#include <linux/input.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <iostream>

#include "record/record.hpp"

TEST_CASE("struct input_event is 16 bytes on 32-bit ARM and 24 on 64-bit targets") {
  std::cout << "sizeof(void*) " << sizeof(void*) << ", sizeof(input_event) " << sizeof(input_event)
            << ", sizeof(time_t) " << sizeof(std::time_t) << ", alignof(std::int64_t) " << alignof(std::int64_t)
            << "\n";
  // linux/input.h: struct timeval (or __kernel_ulong_t sec/usec under 64-bit time), u16 type, u16 code, s32 value.
  CHECK(sizeof(input_event) == (sizeof(long) == 4 ? 16u : 24u));
}

TEST_CASE("record times past 2038 and before 1970 format correctly whatever time_t's width") {
  using namespace std::chrono;
  auto at = [](std::int64_t ms) { return tally::wall_time(duration_cast<tally::wall_time::duration>(milliseconds(ms))); };
  CHECK(tally::format_ts(at(2147483647000)) == "2038-01-19T03:14:07.000Z");
  CHECK(tally::format_ts(at(2147483648000)) == "2038-01-19T03:14:08.000Z");   // one second past a 32-bit time_t
  CHECK(tally::format_ts(at(2208988800123)) == "2040-01-01T00:00:00.123Z");
  CHECK(tally::format_ts(at(-1)) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("seq is a 64-bit integer on every target") {
  STATIC_REQUIRE(sizeof(tally::Seq) == 8);
  tally::Seq big = 4'294'967'296;  // 2^32: a buffer that outlives a 32-bit counter
  CHECK(big + 1 == 4'294'967'297);
}
