#pragma once
// Fake GPIO chips for the tests and the demo (this machine has no /dev/gpiochip* and no gpio-sim). They script
// line values and edges; everything above the seam (debounce, bit-banging, timing guards) runs for real on them.
//
//   FakeBoard/FakeChip  outputs recorded level by level; inputs whose level and edges a test scripts (an eventfd
//                       makes the edge descriptor readable, as the kernel's is)
//   PulseTrainChip      a photo-eye seeing a part every `every` (with contact bounce): a timerfd fires at each
//                       transition, so the event loop wakes exactly as for a real line
//   Hx711Chip           an HX711 that answers the clocking: DOUT low when a conversion is ready, one bit per
//                       clock, 25/26/27 pulses choosing the next gain, a clock held high > 60 us powering it down
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gpio.hpp"

namespace tally::gpio {

// What a fake board's lines did, shared between the test and the chip(s) it hands out.
struct FakeBoard {
  struct Output {
    bool requested = false;
    bool active_low = false;
    bool level = false;             // physical level last set
    std::vector<bool> history;      // every physical level set, in order (the initial one included)
  };
  struct Input {
    bool level = false;             // logical value get() returns
    std::deque<LineEvent> queued;   // edges not read yet
    int fd = -1;                    // eventfd, readable while `queued` is not empty
  };
  std::mutex mutex;
  std::map<std::string, Output> outputs;
  std::map<std::string, Input> inputs;
  bool fail_open = false;           // the chip is "absent": open fails with ENOENT

  ~FakeBoard();
  // Queues an edge on `line` and makes its descriptor readable; the level follows the edge.
  void edge(const std::string& line, bool rising, std::chrono::steady_clock::time_point when);
  void edge(const std::string& line, bool rising, std::chrono::nanoseconds when);
};

class FakeChip final : public Chip {
 public:
  explicit FakeChip(std::shared_ptr<FakeBoard> board);
  std::unique_ptr<Line> request_input(const std::string& line, Bias bias, bool active_low) override;
  std::unique_ptr<Line> request_output(const std::string& line, bool active_low, bool initial) override;
  std::unique_ptr<Line> request_events(const std::string& line, Edge edge, Bias bias, bool active_low) override;

 private:
  std::shared_ptr<FakeBoard> board_;
};

// A line that goes active for `hold` every `every` (first after `every`), each transition preceded by `bounces`
// extra edge pairs 300 us apart, as a mechanical contact chatters. Any line number or name is accepted.
struct PulseTrain {
  std::chrono::milliseconds every{1000};
  std::chrono::milliseconds hold{100};
  int bounces = 0;
};
class PulseTrainChip final : public Chip {
 public:
  explicit PulseTrainChip(PulseTrain train) : train_(train) {}
  std::unique_ptr<Line> request_input(const std::string& line, Bias bias, bool active_low) override;
  std::unique_ptr<Line> request_output(const std::string& line, bool active_low, bool initial) override;
  std::unique_ptr<Line> request_events(const std::string& line, Edge edge, Bias bias, bool active_low) override;

 private:
  PulseTrain train_;
};

// The HX711 as its datasheet describes it (see drivers/hx711/README.md). Shared by the test and the chip.
struct Hx711Model {
  using clock = std::chrono::steady_clock;
  std::vector<std::int32_t> values{0};   // conversions, cycled; each 24-bit two's complement (saturated)
  int repeat = 1;                        // conversions per value
  std::function<std::optional<std::int32_t>()> source;  // when set, each conversion's value (empty: the last one)
  std::chrono::microseconds period{12'500};  // 80 SPS
  // Faults to inject into the NEXT read: hold the clock's high phase this long on that bit (1-based; 0 = none),
  // or keep DOUT low after the gain pulses (a read out of step with the chip).
  int stall_on_bit = 0;
  std::chrono::microseconds stall{100};
  bool dout_stuck_low = false;
  std::chrono::microseconds power_down_after{60};  // SCK high longer than this powers the chip down (datasheet)

  // What happened, for the tests.
  std::vector<int> pulses_per_read;      // 25, 26 or 27 per completed read
  int gain = 128;                        // the gain of the conversion in progress
  int power_downs = 0;

  // The pins.
  bool dout();
  void sck(bool high);

 private:
  void finish_read();
  std::int32_t next_value();
  void latch();  // the next conversion's value into word_, once per conversion
  clock::time_point ready_at_ = clock::now() + period;
  clock::time_point high_since_{};
  bool sck_high_ = false;
  int pulses_ = 0;
  std::uint32_t word_ = 0;
  std::size_t index_ = 0;
  int repeated_ = 0;
  std::int32_t last_ = 0;
  bool stall_now_ = false;
  bool latched_ = false;
};
class Hx711Chip final : public Chip {
 public:
  explicit Hx711Chip(std::shared_ptr<Hx711Model> model) : model_(std::move(model)) {}
  // The first input requested is DOUT, the first output SCK, whatever their numbers.
  std::unique_ptr<Line> request_input(const std::string& line, Bias bias, bool active_low) override;
  std::unique_ptr<Line> request_output(const std::string& line, bool active_low, bool initial) override;
  std::unique_ptr<Line> request_events(const std::string& line, Edge edge, Bias bias, bool active_low) override;

 private:
  std::shared_ptr<Hx711Model> model_;
};

}  // namespace tally::gpio
