#include "outputs/gpio_outputs.hpp"

#include <spdlog/spdlog.h>

#include "gpio/fake_gpio.hpp"

namespace tally {

GpioOutputs::GpioOutputs(const std::vector<OutputConfig>& outputs, EventLoop& loop, Changed changed, OpenChip open)
    : loop_(loop), changed_(std::move(changed)) {
  auto fake_board = std::make_shared<gpio::FakeBoard>();
  for (const auto& c : outputs) {
    Output& o = outputs_[c.name];
    o.config = c;
    o.timer = std::make_unique<Timer>(loop_, [this, &o] { step(o); });
    const std::string chip_key = c.fake ? "fake:" + c.chip : c.chip;
    try {
      auto& chip = chips_[chip_key];
      if (!chip) chip = open ? open(c) : c.fake ? std::make_unique<gpio::FakeChip>(fake_board) : gpio::open_chip(c.chip);
      o.line = chip->request_output(c.line, c.active_low, false);  // inactive from the first moment
      spdlog::info("output {}: {} line {}{}{}", c.name, c.chip, c.line, c.active_low ? " (active low)" : "",
                   c.fake ? " (fake)" : "");
    } catch (const std::exception& e) {
      chips_.erase(chip_key);
      spdlog::error("output {}: unavailable: {}", c.name, e.what());
    }
  }
}

GpioOutputs::~GpioOutputs() { release(); }

bool GpioOutputs::has(const std::string& output) const { return outputs_.count(output) > 0; }

bool GpioOutputs::on(const std::string& output) const {
  const auto it = outputs_.find(output);
  return it != outputs_.end() && it->second.level;
}

void GpioOutputs::play(const std::string& output, OutputPattern pattern) {
  const auto it = outputs_.find(output);
  if (it == outputs_.end()) return;
  Output& o = it->second;
  o.pattern = pattern == OutputPattern::accepted ? std::vector<bool>{true}
                                                 : std::vector<bool>{true, false, true, false, true};
  step(o);
}

void GpioOutputs::step(Output& o) {
  if (!o.pattern.empty()) {
    // A playing pattern overrides the held state for one beep period per level.
    const bool level = o.pattern.front();
    o.pattern.erase(o.pattern.begin());
    o.timer->arm(beep);
    drive(o, level);
    return;
  }
  apply(o);
}

void GpioOutputs::hold(const std::string& output, const std::string& holder, bool on) {
  const auto it = outputs_.find(output);
  if (it == outputs_.end()) return;
  if (on) it->second.holders.insert(holder);
  else it->second.holders.erase(holder);
  if (it->second.pattern.empty() && !it->second.timer->armed()) apply(it->second);
}

void GpioOutputs::apply(Output& o) { drive(o, !o.holders.empty()); }

// Sets the line (a failing line is logged, not thrown: an alarm must not fail because its buzzer did) and reports
// the change.
void GpioOutputs::drive(Output& o, bool level) {
  if (level == o.level) return;
  o.level = level;
  if (o.line) {
    try {
      o.line->set(level);
    } catch (const std::exception& e) {
      spdlog::warn("output {}: {}", o.config.name, e.what());
    }
  }
  if (changed_) changed_(o.config.name, level);
}

void GpioOutputs::release() noexcept {
  for (auto& [name, o] : outputs_) {
    o.pattern.clear();
    if (o.timer) o.timer->disarm();
    const bool was_on = o.level;
    o.level = false;
    if (o.line) {
      try {
        o.line->set(false);
      } catch (...) {
      }
      o.line.reset();
    }
    try {
      if (was_on && changed_) changed_(name, false);
    } catch (...) {
    }
  }
  chips_.clear();
}

void GpioOutputs::republish() {
  if (!changed_) return;
  for (const auto& [name, o] : outputs_) changed_(name, o.level);
}

}  // namespace tally
