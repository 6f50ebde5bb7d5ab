// The real SPI bus: Linux spidev (Documentation/spi/spidev.rst). One SPI_IOC_MESSAGE(1) per read is one
// chip-select cycle: the MAX31855/MAX6675 stop converting while CS is low and start again when it rises, so a frame
// must never be split over two transfers.
#include <fcntl.h>
#include <linux/spi/spidev.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "device_error.hpp"
#include "spi.hpp"
#include "unique_fd.hpp"

namespace tally::spi {

namespace {

class Spidev final : public Bus {
 public:
  Spidev(const std::string& path, std::uint32_t speed_hz) : path_(path), speed_hz_(speed_hz) {
    fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd_) throw_from_errno(path);
    std::uint8_t mode = SPI_MODE_0;  // CPOL 0, CPHA 0: both chips shift data out on the falling edge of SCK
    std::uint8_t bits = 8;
    if (::ioctl(fd_.get(), SPI_IOC_WR_MODE, &mode) < 0) throw_from_errno(path + ": SPI_IOC_WR_MODE");
    if (::ioctl(fd_.get(), SPI_IOC_WR_BITS_PER_WORD, &bits) < 0) throw_from_errno(path + ": SPI_IOC_WR_BITS_PER_WORD");
    if (::ioctl(fd_.get(), SPI_IOC_WR_MAX_SPEED_HZ, &speed_hz_) < 0)
      throw_from_errno(path + ": SPI_IOC_WR_MAX_SPEED_HZ");
  }
  void transfer(std::span<std::uint8_t> buf) override {
    std::memset(buf.data(), 0, buf.size());
    spi_ioc_transfer xfer{};  // zero-initialised: no delay, no cs_change, this speed
    xfer.tx_buf = reinterpret_cast<std::uintptr_t>(buf.data());
    xfer.rx_buf = reinterpret_cast<std::uintptr_t>(buf.data());
    xfer.len = static_cast<std::uint32_t>(buf.size());
    xfer.speed_hz = speed_hz_;
    xfer.bits_per_word = 8;
    if (::ioctl(fd_.get(), SPI_IOC_MESSAGE(1), &xfer) < 0) throw_from_errno(path_ + ": SPI transfer");
  }

 private:
  std::string path_;
  std::uint32_t speed_hz_;
  unique_fd fd_;
};

}  // namespace

std::unique_ptr<Bus> open_spidev(const std::string& path, std::uint32_t speed_hz) {
  return std::make_unique<Spidev>(path, speed_hz);
}

void FakeSpi::transfer(std::span<std::uint8_t> buf) {
  std::vector<std::uint8_t> frame;
  if (next_) frame = next_();
  else if (!frames_.empty()) frame = frames_[transfers_ % frames_.size()];
  ++transfers_;
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = i < frame.size() ? frame[i] : 0;
}

std::vector<std::uint8_t> parse_hex(const std::string& text) {
  std::string digits;
  for (char c : text)
    if (c != ' ' && c != ':') digits += c;
  if (digits.empty() || digits.size() % 2 != 0) return {};
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < digits.size(); i += 2) {
    unsigned v = 0;
    for (char c : digits.substr(i, 2)) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return {};
      v = v * 16 + static_cast<unsigned>(d);
    }
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

}  // namespace tally::spi
