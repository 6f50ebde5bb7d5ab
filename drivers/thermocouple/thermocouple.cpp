#include "thermocouple.hpp"

#include <cmath>

#include "frames.hpp"
#include "table_reader.hpp"

namespace tally::thermocouple {

namespace {

class Thermocouple final : public Driver {
 public:
  explicit Thermocouple(Settings s) : s_(std::move(s)) {}
  void open() override { bus_ = s_.open_bus(); }
  void close() noexcept override { bus_.reset(); }
  std::chrono::milliseconds poll_interval() const noexcept override { return s_.poll; }

  void collect(InputSink& sink) override {
    Frame f;
    if (s_.chip == Chip::max31855) {
      std::array<std::uint8_t, 4> buf{};
      bus_->transfer(buf);
      f = decode_max31855(buf);
    } else {
      std::array<std::uint8_t, 2> buf{};
      bus_->transfer(buf);
      f = decode_max6675(buf);
    }
    if (!f.valid) return sink.dropped(f.invalid);
    if (s_.cold_junction) return sink.reading(Reading::measured("temperature", *f.cold_junction, "degC"));
    if (!f.fault.empty()) return sink.reading(Reading::faulted("temperature", "degC", f.fault));
    sink.reading(Reading::measured("temperature", *f.temperature, "degC"));
  }

 private:
  Settings s_;
  std::unique_ptr<spi::Bus> bus_;
};

// `fake = { frames = ["01901900", ...] }` returns those frames in turn; `fake = { celsius = 45, swing = 5,
// period_s = 120, open_every = 0 }` a slow sine around `celsius` (cold junction 25 degC), every open_every-th read
// an open thermocouple. Either way the driver's decoding runs on real frame bytes.
std::function<std::unique_ptr<spi::Bus>()> fake_bus(TableReader& parent, Chip chip) {
  auto fake = parent.sub_table("fake", "fake = { celsius = 45.0 }");
  if (!fake) return {};
  TableReader& k = *fake;
  const std::size_t frame_size = chip == Chip::max31855 ? 4 : 2;
  std::vector<std::vector<std::uint8_t>> frames;
  if (const toml::node* list = k.table().get("frames")) {
    k.consume("frames");
    const toml::array* a = list->as_array();
    if (!a || a->empty()) k.error("frames", "must be a non-empty array of hex strings");
    for (std::size_t i = 0; a && i < a->size(); ++i) {
      const auto text = a->get(i)->value<std::string>();
      auto bytes = text ? spi::parse_hex(*text) : std::vector<std::uint8_t>{};
      if (bytes.size() != frame_size)
        k.error("frames", "frame " + std::to_string(i + 1) + " must be " + std::to_string(frame_size) +
                              " bytes in hex, e.g. \"" + (frame_size == 4 ? "01 90 19 00" : "03 20") + "\"");
      frames.push_back(std::move(bytes));
    }
  }
  const double celsius = k.number("celsius", 45.0, -270, 1800);
  const double swing = k.number("swing", 5.0, 0, 1000);
  const double period_s = k.number("period_s", 120, 0.1, 1e7);
  const auto open_every = k.integer("open_every", 0, 0, 1'000'000);
  k.finish();
  if (!frames.empty()) return [frames] { return std::make_unique<spi::FakeSpi>(frames); };
  return [=] {
    auto start = std::chrono::steady_clock::now();
    auto reads = std::make_shared<std::int64_t>(0);
    return std::make_unique<spi::FakeSpi>([=]() -> std::vector<std::uint8_t> {
      const bool open = open_every > 0 && ++*reads % open_every == 0;
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double v = celsius + swing * std::sin(2 * M_PI * t / period_s);
      if (chip == Chip::max31855) {
        const auto f = encode_max31855(v, 25.0, open ? 1u : 0u);
        return {f.begin(), f.end()};
      }
      const auto f = encode_max6675(v, open);
      return {f.begin(), f.end()};
    });
  };
}

DriverFactory configure(TableReader& keys, Chip chip) {
  Settings s;
  s.chip = chip;
  // Datasheets: SCK at most 5 MHz (MAX31855) / 4.3 MHz (MAX6675); a conversion takes up to 100 ms / 220 ms, and
  // reading (CS low) stops it, so polling faster would only ever return the same value or abort conversions.
  const bool m31855 = chip == Chip::max31855;
  const std::int64_t max_hz = m31855 ? 5'000'000 : 4'300'000;
  const std::int64_t conversion_ms = m31855 ? 100 : 220;
  s.spi = keys.string("spi", "/dev/spidev0.0");
  s.speed_hz = static_cast<std::uint32_t>(keys.integer("speed_hz", 1'000'000, 10'000, max_hz));
  s.poll = std::chrono::milliseconds(keys.integer("poll_ms", 1000, conversion_ms, 86'400'000));
  if (m31855) {
    s.cold_junction = keys.choice("channel", "thermocouple", {"thermocouple", "cold-junction"}) == "cold-junction";
  }
  if (keys.has("fake")) {
    s.open_bus = fake_bus(keys, chip);
  } else {
    s.open_bus = [path = s.spi, hz = s.speed_hz] { return spi::open_spidev(path, hz); };
  }
  return [s] { return make(s); };
}

}  // namespace

std::unique_ptr<Driver> make(Settings s) { return std::make_unique<Thermocouple>(std::move(s)); }
DriverFactory configure_max31855(TableReader& keys) { return configure(keys, Chip::max31855); }
DriverFactory configure_max6675(TableReader& keys) { return configure(keys, Chip::max6675); }

}  // namespace tally::thermocouple
