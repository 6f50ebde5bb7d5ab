#include "gpio_counter.hpp"

#include "fake_gpio.hpp"
#include "table_reader.hpp"

namespace tally::gpio_counter {

namespace {

using std::chrono::nanoseconds;

nanoseconds monotonic_now() { return std::chrono::steady_clock::now().time_since_epoch(); }

class GpioCounter final : public Driver {
 public:
  explicit GpioCounter(Settings s) : s_(std::move(s)) {}

  void open() override {
    chip_ = s_.open_chip();
    // Both edges are always requested, whatever `edge` says: debouncing needs to see the line go back.
    line_ = chip_->request_events(s_.line, gpio::Edge::both, s_.bias, s_.active_low);
    debouncer_.emplace(line_->get(), std::chrono::duration_cast<nanoseconds>(s_.debounce));
  }
  void close() noexcept override {
    line_.reset();
    chip_.reset();
    debouncer_.reset();
  }
  int fd() const noexcept override { return line_ ? line_->event_fd() : -1; }

  void collect(InputSink& sink) override {
    // The kernel queues at most 16 events per line: drain them all on every wake-up.
    for (const auto& e : line_->read_events()) {
      settle(sink, e.timestamp);
      debouncer_->edge(e.rising, e.timestamp);
    }
    settle(sink, monotonic_now());
    if (const auto deadline = debouncer_->deadline()) {
      // The window closes with no edge to wake us: ask the loop to.
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*deadline - monotonic_now());
      sink.wake_after(std::max(wait, std::chrono::milliseconds(1)));
    }
  }

 private:
  void settle(InputSink& sink, nanoseconds now) {
    const auto t = debouncer_->settle(now);
    if (!t) return;
    const bool counted = s_.edge == gpio::Edge::both || (s_.edge == gpio::Edge::rising) == t->level;
    if (!counted) return;
    Pulse p;
    p.kind = s_.counts;
    p.count = 1;
    p.mono = std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(t->at));
    p.ts = std::chrono::system_clock::now() -
           std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::steady_clock::now() - p.mono);
    sink.pulse(p);
  }

  Settings s_;
  std::unique_ptr<gpio::Chip> chip_;
  std::unique_ptr<gpio::Line> line_;
  std::optional<Debouncer> debouncer_;
};

// `fake = { every_ms = 1000, hold_ms = 100, bounces = 2 }`: a photo-eye seeing a part every `every_ms` for
// `hold_ms`, each transition chattering `bounces` times (gpio/fake_gpio.hpp, PulseTrainChip).
std::function<std::unique_ptr<gpio::Chip>()> fake_chip(TableReader& parent) {
  auto fake = parent.sub_table("fake", "fake = { every_ms = 1000 }");
  if (!fake) return {};
  TableReader& k = *fake;
  gpio::PulseTrain train;
  train.every = std::chrono::milliseconds(k.integer("every_ms", 1000, 2, 86'400'000));
  train.hold = std::chrono::milliseconds(k.integer("hold_ms", train.every.count() / 2, 1, 86'400'000));
  train.bounces = static_cast<int>(k.integer("bounces", 0, 0, 50));
  if (train.hold >= train.every) k.error("hold_ms", "must be shorter than every_ms");
  k.finish();
  return [train] { return std::make_unique<gpio::PulseTrainChip>(train); };
}

}  // namespace

std::unique_ptr<Driver> make(Settings s) { return std::make_unique<GpioCounter>(std::move(s)); }

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.chip = keys.string("chip", "gpiochip0");
  s.line = gpio::line_key(keys, "line");
  const auto edge = keys.choice("edge", "rising", {"rising", "falling", "both"});
  s.edge = edge == "falling" ? gpio::Edge::falling : edge == "both" ? gpio::Edge::both : gpio::Edge::rising;
  const auto bias = keys.choice("bias", "as-is", {"as-is", "disabled", "pull-up", "pull-down"});
  s.bias = bias == "disabled"    ? gpio::Bias::disabled
           : bias == "pull-up"   ? gpio::Bias::pull_up
           : bias == "pull-down" ? gpio::Bias::pull_down
                                 : gpio::Bias::as_is;
  s.active_low = keys.boolean("active_low", false);
  s.debounce = std::chrono::milliseconds(keys.integer("debounce_ms", 20, 0, 10'000));
  const auto counts = keys.choice("counts", "pulses", {"units", "rejects", "pulses"});
  s.counts = counts == "units" ? PulseKind::units : counts == "rejects" ? PulseKind::rejects : PulseKind::pulses;
  if (keys.has("fake")) {
    s.open_chip = fake_chip(keys);
  } else {
    s.open_chip = [chip = s.chip] { return gpio::open_chip(chip); };
  }
  return [s] { return make(s); };
}

}  // namespace tally::gpio_counter
