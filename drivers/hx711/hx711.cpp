// The hx711 driver: polled every poll_ms; each poll gathers `samples` conversions and publishes their median as
// (median - offset) / scale.
//
// No thread of its own: a read is 25..27 clock pulses of three ioctls each, a fraction of a millisecond, done
// synchronously inside collect(), so nothing else in tallyd can run in the middle of a pulse. What can interrupt
// a pulse is the kernel preempting the process, and a thread of ours would be preempted just the same (only a
// real-time priority would help, and tallyd should not hog a Pi Zero's one core for a scale). So every clock-high
// phase is timed and a read where one exceeded 50 us is discarded, as is the read after it (a pulse over 60 us
// powered the chip down and reset its gain). Waiting for DOUT to go low never blocks: collect() asks to be woken
// again shortly.
#include <cerrno>
#include <cmath>
#include <fstream>

#include "device_error.hpp"
#include "small_file.hpp"
#include "fake_gpio.hpp"
#include "hx711.hpp"
#include "table_reader.hpp"

namespace tally::hx711 {

namespace {

constexpr std::chrono::milliseconds ready_check{10};  // 80 SPS converts every 12.5 ms, 10 SPS every 100 ms
constexpr std::uint32_t positive_full_scale = 0x7FFFFF, negative_full_scale = 0x800000;

class Hx711 final : public Driver {
 public:
  explicit Hx711(Settings s) : s_(std::move(s)) {}

  void open() override {
    chip_ = s_.open_chip();
    // SCK low from the start: held high for more than 60 us it would power the chip down.
    sck_ = chip_->request_output(s_.sck, false, false);
    dout_ = chip_->request_input(s_.dout, gpio::Bias::as_is, false);
    restart_cycle();
    discard_next_ = true;  // the conversion in progress was started with whatever gain the chip had
  }
  void close() noexcept override {
    sck_.reset();
    dout_.reset();
    chip_.reset();
  }
  std::chrono::milliseconds poll_interval() const noexcept override { return s_.poll; }

  void collect(InputSink& sink) override {
    const auto now = std::chrono::steady_clock::now();
    if (!gathering_) restart_cycle();
    while (gathering_ && !dout_->get()) {  // DOUT low: a conversion is ready
      take_sample(sink);
      waiting_since_ = std::chrono::steady_clock::now();
    }
    if (!gathering_) return;
    if (now - waiting_since_ >= s_.not_ready_after) {
      // DOUT stuck high: the chip is unpowered, powered down, or not wired to this line.
      sink.reading(Reading::faulted("mass", s_.unit, "not-ready"));
      gathering_ = false;
      return;
    }
    sink.wake_after(ready_check);
  }

  bool start_command(std::string_view name, CommandDone done) override {
    if (name != "raw") return false;
    raw_request_ = std::move(done);  // answered with the next median (tallyctl calibrate)
    return true;
  }
  void cancel_command() noexcept override { raw_request_ = nullptr; }

 private:
  void restart_cycle() {
    values_.clear();
    gathering_ = true;
    waiting_since_ = std::chrono::steady_clock::now();
  }

  void take_sample(InputSink& sink) {
    const Sample got = clock_out(*sck_, *dout_, pulses_for_gain(s_.gain));
    if (got.longest_high > s_.max_clock_high) {
      discard_next_ = true;  // over 60 us the chip powered down and came back at A/128
      return sink.dropped("clock held high too long (preempted read)");
    }
    if (!got.dout_high_after) {
      discard_next_ = true;
      return sink.dropped("DOUT not high after the gain pulses (read out of step)");
    }
    if (std::exchange(discard_next_, false)) return;  // settling: not a drop, the chip did nothing wrong
    if (got.word == positive_full_scale) {
      // Both a known glitch and the chip's overload code: isolated it is a glitch, `samples` in a row an overload.
      if (++overloads_ >= s_.samples) {
        overloads_ = 0;
        gathering_ = false;
        return sink.reading(Reading::faulted("mass", s_.unit, "overload"));
      }
      return sink.dropped("glitch value");
    }
    overloads_ = 0;
    if (glitch(got.word)) return sink.dropped("glitch value");
    values_.push_back(decode(got.word));
    if (static_cast<int>(values_.size()) < s_.samples) return;
    gathering_ = false;
    const double raw = median(values_);
    if (auto done = std::exchange(raw_request_, nullptr)) done(true, std::to_string(std::llround(raw)));
    if (raw == static_cast<double>(decode(negative_full_scale)))
      return sink.reading(Reading::faulted("mass", s_.unit, "underload"));
    sink.reading(Reading::measured("mass", (raw - s_.offset) / s_.scale, s_.unit));
  }

  Settings s_;
  std::unique_ptr<gpio::Chip> chip_;
  std::unique_ptr<gpio::Line> sck_, dout_;
  std::vector<std::int32_t> values_;
  bool gathering_ = false;
  bool discard_next_ = false;
  int overloads_ = 0;
  std::chrono::steady_clock::time_point waiting_since_;
  CommandDone raw_request_;
};

// `fake = { raw = [8388, ...], repeat = 1, sps = 80 }`: an HX711 model answering the clocking (fake_gpio.hpp),
// converting `raw` in turn (each `repeat` times) at `sps` conversions a second; with `raw_file`, the number in that
// file instead (re-read at every conversion).
std::function<std::unique_ptr<gpio::Chip>()> fake_chip(TableReader& parent) {
  auto fake = parent.sub_table("fake", "fake = { raw = [8400, 108400] }");
  if (!fake) return {};
  TableReader& k = *fake;
  std::vector<std::int32_t> raw;
  if (const toml::node* list = k.table().get("raw")) {
    k.consume("raw");
    const toml::array* a = list->as_array();
    for (std::size_t i = 0; a && i < a->size(); ++i) {
      const auto v = a->get(i)->value<std::int64_t>();
      if (!v || *v < -8388608 || *v > 8388607) k.error("raw", "values must be integers in -8388608..8388607");
      else raw.push_back(static_cast<std::int32_t>(*v));
    }
    if (!a || a->empty()) k.error("raw", "must be a non-empty array of raw counts");
  }
  if (raw.empty()) raw = {0};
  const auto repeat = static_cast<int>(k.integer("repeat", 1, 1, 1'000'000));
  const auto sps = k.integer("sps", 80, 1, 1000);
  const std::string raw_file = k.string("raw_file", "");
  k.finish();
  return [=] {
    auto model = std::make_shared<gpio::Hx711Model>();
    model->values = raw;
    model->repeat = repeat;
    model->period = std::chrono::microseconds(1'000'000 / sps);
    if (!raw_file.empty()) {
      // The load, as a person puts it on: `echo 58000 > raw_file` (tools/demo, tallyctl calibrate's test).
      // Read inside collect() (the model latches on DOUT low): never blocking, so a raw_file that is a FIFO, or
      // anything but a regular file, keeps the last value instead of stalling the event loop (small_file.hpp).
      model->source = [raw_file]() -> std::optional<std::int32_t> {
        const SmallFile f = read_small_file(raw_file, 64);
        if (f.error || f.too_long) return std::nullopt;
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(f.text.c_str(), &end, 10);
        if (end == f.text.c_str() || errno == ERANGE || v < -8388608 || v > 8388607) return std::nullopt;
        while (*end == ' ' || *end == '\n') ++end;
        if (*end != '\0') return std::nullopt;
        return static_cast<std::int32_t>(v);
      };
    }
    return std::make_unique<gpio::Hx711Chip>(model);
  };
}

}  // namespace

std::unique_ptr<Driver> make(Settings s) { return std::make_unique<Hx711>(std::move(s)); }

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.chip = keys.string("chip", "gpiochip0");
  s.dout = gpio::line_key(keys, "dout");
  s.sck = gpio::line_key(keys, "sck");
  if (!s.dout.empty() && s.dout == s.sck) keys.error("sck", "must be another line than dout");
  s.gain = static_cast<int>(keys.integer("gain", 128, 32, 128));
  if (s.gain != 128 && s.gain != 64 && s.gain != 32)
    keys.error("gain", "must be 128 or 64 (channel A) or 32 (channel B)");
  s.offset = keys.number("offset", 0, -1e9, 1e9);
  s.scale = keys.number("scale", 1, -1e12, 1e12);
  if (s.scale == 0) keys.error("scale", "must not be 0 (raw counts per unit; see tallyctl calibrate)");
  s.unit = keys.string("unit", "");
  s.samples = static_cast<int>(keys.integer("samples", 5, 1, 100));
  s.poll = std::chrono::milliseconds(keys.integer("poll_ms", 1000, 50, 86'400'000));
  if (keys.has("fake")) {
    s.open_chip = fake_chip(keys);
  } else {
    s.open_chip = [chip = s.chip] { return gpio::open_chip(chip); };
  }
  return [s] { return make(s); };
}

}  // namespace tally::hx711
