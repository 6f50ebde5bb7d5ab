#pragma once
// [[outputs]] on GPIO lines: buzzers and stack lights. Each output is one line requested as an output at its
// INACTIVE level when tallyd starts, which is also what puts a light left on by a crashed tallyd back off (the
// kernel keeps an output at its last level when the process holding it dies). An output is on while any holder
// holds it or a pattern plays; release() (shutdown, destruction) sets every line inactive before handing it back.
// Patterns (datasheet-free, chosen to be told apart by ear): accepted = one 120 ms beep; refused = three 120 ms
// beeps 120 ms apart. The change callback sees every level change (the station publishes B/outputs/<name>).
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "loop/event_loop.hpp"
#include "gpio/gpio.hpp"
#include "outputs/outputs.hpp"

namespace tally {

class GpioOutputs final : public Outputs {
 public:
  using OpenChip = std::function<std::unique_ptr<gpio::Chip>(const OutputConfig&)>;
  using Changed = std::function<void(const std::string& output, bool on)>;
  // Requests every line now; an output whose chip or line cannot be had is logged and left out (it stays "known"
  // so scans and alarms naming it still work). `open` defaults to libgpiod, or the fake chip for `fake = true`.
  GpioOutputs(const std::vector<OutputConfig>& outputs, EventLoop& loop, Changed changed, OpenChip open = {});
  ~GpioOutputs() override;

  bool has(const std::string& output) const override;
  void play(const std::string& output, OutputPattern pattern) override;
  void hold(const std::string& output, const std::string& holder, bool on) override;
  void release() noexcept override;
  void republish() override;
  bool on(const std::string& output) const;

  static constexpr std::chrono::milliseconds beep{120};

 private:
  struct Output {
    OutputConfig config;
    std::unique_ptr<gpio::Line> line;     // null when it could not be requested (or after release)
    std::set<std::string> holders;
    std::vector<bool> pattern;            // levels still to play, one per beep period
    bool level = false;                   // what the line was last set to (logical)
    std::unique_ptr<Timer> timer;
  };
  void apply(Output& o);
  void drive(Output& o, bool level);
  void step(Output& o);

  EventLoop& loop_;
  Changed changed_;
  std::map<std::string, std::unique_ptr<gpio::Chip>> chips_;
  std::map<std::string, Output> outputs_;
};

}  // namespace tally
