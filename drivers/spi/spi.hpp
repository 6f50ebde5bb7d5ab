#pragma once
// The SPI seam: one full-duplex transfer on a spidev device, behind an interface whose real implementation
// (spidev.cpp) is a thin wrapper over the spidev ioctls, and whose fake (FakeSpi) returns chosen frames where this
// machine has no /dev/spidev*.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace tally::spi {

class Bus {
 public:
  virtual ~Bus() = default;
  // Clocks buf.size() bytes out (zeros) and in, chip select held low for the whole transfer. Throws device_error.
  virtual void transfer(std::span<std::uint8_t> buf) = 0;
};

// /dev/spidevB.C in SPI mode 0, 8 bits per word, at most `speed_hz`. Throws device_error.
std::unique_ptr<Bus> open_spidev(const std::string& path, std::uint32_t speed_hz);

// Returns `frames` in turn (cycled), or what `next` makes when it is set; counts the transfers.
class FakeSpi final : public Bus {
 public:
  explicit FakeSpi(std::vector<std::vector<std::uint8_t>> frames) : frames_(std::move(frames)) {}
  explicit FakeSpi(std::function<std::vector<std::uint8_t>()> next) : next_(std::move(next)) {}
  void transfer(std::span<std::uint8_t> buf) override;
  std::size_t transfers() const { return transfers_; }

 private:
  std::vector<std::vector<std::uint8_t>> frames_;
  std::function<std::vector<std::uint8_t>()> next_;
  std::size_t transfers_ = 0;
};

// "01 90 19 00" / "01901900" -> bytes; empty when it is not whole hex bytes.
std::vector<std::uint8_t> parse_hex(const std::string& text);

}  // namespace tally::spi
