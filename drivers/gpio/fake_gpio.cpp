#include "fake_gpio.hpp"

#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "device_error.hpp"
#include "unique_fd.hpp"

namespace tally::gpio {

namespace {

std::chrono::nanoseconds since_boot(std::chrono::steady_clock::time_point t) { return t.time_since_epoch(); }

// ---- FakeBoard lines ----

class FakeOutput final : public Line {
 public:
  FakeOutput(std::shared_ptr<FakeBoard> board, std::string line) : board_(std::move(board)), line_(std::move(line)) {}
  // Like the kernel: releasing the request leaves the pin at the level it was last set to.
  ~FakeOutput() override {
    std::lock_guard lock(board_->mutex);
    board_->outputs[line_].requested = false;
  }
  bool get() override {
    std::lock_guard lock(board_->mutex);
    const auto& o = board_->outputs[line_];
    return o.level != o.active_low;
  }
  void set(bool active) override {
    std::lock_guard lock(board_->mutex);
    auto& o = board_->outputs[line_];
    o.level = active != o.active_low;
    o.history.push_back(o.level);
  }

 private:
  std::shared_ptr<FakeBoard> board_;
  std::string line_;
};

class FakeInput final : public Line {
 public:
  FakeInput(std::shared_ptr<FakeBoard> board, std::string line) : board_(std::move(board)), line_(std::move(line)) {
    std::lock_guard lock(board_->mutex);
    auto& in = board_->inputs[line_];
    if (in.fd < 0) in.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fd_ = in.fd;
  }
  bool get() override {
    std::lock_guard lock(board_->mutex);
    return board_->inputs[line_].level;
  }
  void set(bool) override { throw device_error(EPERM, "fake line " + line_ + " is an input"); }
  int event_fd() const override { return fd_; }
  std::vector<LineEvent> read_events() override {
    std::lock_guard lock(board_->mutex);
    auto& in = board_->inputs[line_];
    std::uint64_t n;
    while (::read(in.fd, &n, sizeof n) > 0) {
    }
    std::vector<LineEvent> out(in.queued.begin(), in.queued.end());
    in.queued.clear();
    return out;
  }

 private:
  std::shared_ptr<FakeBoard> board_;
  std::string line_;
  int fd_ = -1;
};

// ---- PulseTrain ----

class PulseTrainLine final : public Line {
 public:
  explicit PulseTrainLine(PulseTrain train)
      : train_(train), fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
    if (!fd_) throw_from_errno("fake pulse train: timerfd_create");
    next_ = std::chrono::steady_clock::now() + train_.every;
    arm();
  }
  bool get() override { return active_; }
  void set(bool) override { throw device_error(EPERM, "fake pulse train is an input"); }
  int event_fd() const override { return fd_.get(); }
  std::vector<LineEvent> read_events() override {
    std::uint64_t n;
    while (::read(fd_.get(), &n, sizeof n) > 0) {
    }
    std::vector<LineEvent> out;
    const auto now = std::chrono::steady_clock::now();
    while (next_ <= now) {
      // The contact chatters before it settles: each transition ends at `next_`, its bounces just before it.
      const bool to = !active_;
      for (int b = 2 * train_.bounces; b > 0; --b) {
        const auto t = next_ - std::chrono::microseconds(300) * b;
        out.push_back({(b % 2 == 0) == to, since_boot(t)});
      }
      out.push_back({to, since_boot(next_)});
      active_ = to;
      next_ += active_ ? train_.hold : train_.every - train_.hold;
    }
    arm();
    return out;
  }

 private:
  void arm() {
    itimerspec spec{};
    const auto ns = since_boot(next_).count();
    spec.it_value.tv_sec = ns / 1'000'000'000;
    spec.it_value.tv_nsec = ns % 1'000'000'000;
    ::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  }
  PulseTrain train_;
  unique_fd fd_;
  bool active_ = false;
  std::chrono::steady_clock::time_point next_;
};

// ---- HX711 ----

class Hx711Dout final : public Line {
 public:
  explicit Hx711Dout(std::shared_ptr<Hx711Model> m) : m_(std::move(m)) {}
  bool get() override { return m_->dout(); }
  void set(bool) override { throw device_error(EPERM, "HX711 DOUT is an input"); }

 private:
  std::shared_ptr<Hx711Model> m_;
};

class Hx711Sck final : public Line {
 public:
  explicit Hx711Sck(std::shared_ptr<Hx711Model> m) : m_(std::move(m)) {}
  bool get() override { return false; }
  void set(bool high) override { m_->sck(high); }

 private:
  std::shared_ptr<Hx711Model> m_;
};

}  // namespace

// ---- FakeBoard / FakeChip ----

FakeBoard::~FakeBoard() {
  for (auto& [name, in] : inputs)
    if (in.fd >= 0) ::close(in.fd);
}

void FakeBoard::edge(const std::string& line, bool rising, std::chrono::steady_clock::time_point when) {
  edge(line, rising, since_boot(when));
}

void FakeBoard::edge(const std::string& line, bool rising, std::chrono::nanoseconds when) {
  std::lock_guard lock(mutex);
  auto& in = inputs[line];
  if (in.fd < 0) in.fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  in.queued.push_back({rising, when});
  in.level = rising;
  const std::uint64_t one = 1;
  (void)!::write(in.fd, &one, sizeof one);
}

FakeChip::FakeChip(std::shared_ptr<FakeBoard> board) : board_(std::move(board)) {
  if (board_->fail_open) throw device_error(ENOENT, "fake GPIO chip: absent");
}

std::unique_ptr<Line> FakeChip::request_input(const std::string& line, Bias, bool) {
  return std::make_unique<FakeInput>(board_, line);
}

std::unique_ptr<Line> FakeChip::request_output(const std::string& line, bool active_low, bool initial) {
  {
    std::lock_guard lock(board_->mutex);
    auto& o = board_->outputs[line];
    if (o.requested) throw device_error(EBUSY, "fake GPIO line " + line + ": busy");
    o.requested = true;
    o.active_low = active_low;
    o.level = initial != active_low;
    o.history.push_back(o.level);
  }
  return std::make_unique<FakeOutput>(board_, line);
}

std::unique_ptr<Line> FakeChip::request_events(const std::string& line, Edge, Bias, bool) {
  return std::make_unique<FakeInput>(board_, line);
}

std::unique_ptr<Line> PulseTrainChip::request_input(const std::string&, Bias, bool) {
  return std::make_unique<PulseTrainLine>(train_);
}
std::unique_ptr<Line> PulseTrainChip::request_output(const std::string& line, bool, bool) {
  throw device_error(EPERM, "fake pulse train: line " + line + " is an input");
}
std::unique_ptr<Line> PulseTrainChip::request_events(const std::string&, Edge, Bias, bool) {
  return std::make_unique<PulseTrainLine>(train_);
}

std::unique_ptr<Line> Hx711Chip::request_input(const std::string&, Bias, bool) {
  return std::make_unique<Hx711Dout>(model_);
}
std::unique_ptr<Line> Hx711Chip::request_output(const std::string&, bool, bool initial) {
  model_->sck(initial);
  return std::make_unique<Hx711Sck>(model_);
}
std::unique_ptr<Line> Hx711Chip::request_events(const std::string& line, Edge, Bias, bool) {
  throw device_error(EPERM, "fake HX711: line " + line + " has no edge events");
}

// ---- Hx711Model ----

std::int32_t Hx711Model::next_value() {
  if (source) {
    if (const auto v = source()) last_ = *v;
    return last_;
  }
  const std::int32_t v = values.empty() ? 0 : values[index_ % values.size()];
  if (++repeated_ >= std::max(repeat, 1)) {
    repeated_ = 0;
    ++index_;
  }
  return v;
}

bool Hx711Model::dout() {
  if (sck_high_ && stall_now_ && pulses_ == stall_on_bit) {
    // The reader was preempted in the middle of this high phase.
    std::this_thread::sleep_for(stall);
    stall_now_ = false;
    stall_on_bit = 0;
  }
  if (pulses_ >= 1 && pulses_ <= 24) return (word_ >> (24 - pulses_)) & 1u;
  if (pulses_ > 24) {
    if (sck_high_) return true;
    finish_read();
    if (dout_stuck_low) {
      dout_stuck_low = false;
      ready_at_ = clock::now();  // out of step: the pin reads low right after the gain pulses
      return false;
    }
  }
  if (clock::now() < ready_at_) return true;
  // DOUT low: the conversion is in the output register. Taking the value here, before the first clock, keeps a slow
  // `source` (a file read) out of the timed high phases, where the chip itself does no work.
  latch();
  return false;
}

void Hx711Model::latch() {
  if (latched_) return;
  word_ = static_cast<std::uint32_t>(next_value()) & 0xFFFFFFu;
  latched_ = true;
}

void Hx711Model::sck(bool high) {
  const auto now = clock::now();
  if (high && !sck_high_) {
    high_since_ = now;
    if (pulses_ > 0) {
      ++pulses_;
    } else if (now >= ready_at_) {
      latch();          // clocked without looking at DOUT first
      latched_ = false;  // this conversion is being read out: the next one latches its own value
      stall_now_ = stall_on_bit > 0;
      pulses_ = 1;
    }  // else: clocking while DOUT is high shifts nothing out; the pulse is wasted
  } else if (!high && sck_high_ && now - high_since_ > power_down_after) {
    // Datasheet: SCK high for more than 60 us powers the chip down; SCK low again resets it to channel A, gain 128,
    // and its output settles after 4 conversions.
    ++power_downs;
    pulses_ = 0;
    latched_ = false;
    gain = 128;
    ready_at_ = now + 4 * period;
  }
  sck_high_ = high;
}

void Hx711Model::finish_read() {
  pulses_per_read.push_back(pulses_);
  // The extra pulses choose the next conversion: 25 = A/128, 26 = B/32, 27 = A/64.
  gain = pulses_ == 26 ? 32 : pulses_ == 27 ? 64 : 128;
  pulses_ = 0;
  ready_at_ = clock::now() + std::max<clock::duration>(period, std::chrono::milliseconds(1));
}

}  // namespace tally::gpio
