#pragma once
// tally-emu scale, the shared part: the physical scale (a load that settles, zero, tare, overload), the request
// queue, the stream and the control lines. What is protocol-specific — the weight line in each output form and the
// answers to commands — lives in one file per protocol (scale_<protocol>.cpp) behind ScaleProtocol.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "pty_device.hpp"

namespace tally::emu::scale {

using steady = std::chrono::steady_clock;

enum class Stream { off, continuous, on_stable };

double grams_per(const std::string& unit);  // g, kg, lb, oz; UsageError otherwise
std::string fmt(const char* f, double v, int decimals);
std::string right(std::string s, std::size_t width);
std::string left(std::string s, std::size_t width);
// The corpus escapes (\r \n \t \\ \xNN) turned into bytes; UsageError on a bad escape.
std::string unescape(std::string_view text);

// The physical scale: a load on the pan that settles, a zero point and a tare, in grams.
struct Model {
  double capacity_g = 6200;
  double from_g = 0, to_g = 0;  // the load moves from -> to over the settle time
  steady::time_point settle_start{}, settle_end{};
  double power_on_zero_g = 0, zero_g = 0, tare_g = 0;
  bool forced_unstable = false, forced_over = false, forced_under = false;

  double gross(steady::time_point now) const;
  void load(double g, steady::time_point now, std::chrono::milliseconds settle);
  bool stable(steady::time_point now) const { return !forced_unstable && now >= settle_end; }
  bool over(steady::time_point now) const { return forced_over || gross(now) - zero_g > capacity_g * 1.01; }
  bool under(steady::time_point now) const { return forced_under || gross(now) - zero_g < -capacity_g * 0.05; }
  double net(steady::time_point now) const { return gross(now) - zero_g - tare_g; }
};

struct Settings {
  std::string protocol = "mt-sics";
  std::string form;  // the output form ("" = the protocol's standard one)
  std::string unit = "g";
  int decimals = 2;
  std::chrono::milliseconds interval{100}, settle{500}, stable_timeout{3000};
  bool verbose = false;
};

// One request from the host, waiting in line (a real balance handles commands in order; some wait for stability).
struct Request {
  std::string text;
  steady::time_point received;
};

// What the display shows now: the net weight in the display unit, rounded to its resolution.
struct Display {
  double value = 0;  // net
  double tare = 0;   // in the display unit; a tare set means the display shows net
  bool stable = true, over = false, under = false;
  std::string unit;
  int decimals = 2;
  std::string number(double v) const { return fmt("%.*f", v, decimals); }
};

class Scale;

// One protocol: its weight line in the selected form, and its answers to the host's requests.
class ScaleProtocol {
 public:
  virtual ~ScaleProtocol() = default;
  // The weight line (without CR LF). May return several lines joined by "\r\n" (a print block).
  virtual std::string weight_line(const Display& d) const = 0;
  // One request; false = not finished yet (waiting for a stable weight).
  virtual bool handle(Scale& scale, const Request& r, steady::time_point now) = 0;
  // Sartorius SBI commands are ESC + a letter, with no line end needed.
  virtual bool escape_commands() const { return false; }
};

// The protocols, each in its own file; `form` is checked there (UsageError lists the forms it knows).
std::unique_ptr<ScaleProtocol> make_mt_sics(const std::string& form);
std::unique_ptr<ScaleProtocol> make_and(const std::string& form);
std::unique_ptr<ScaleProtocol> make_ohaus(const std::string& form);
std::unique_ptr<ScaleProtocol> make_sartorius(const std::string& form);
std::unique_ptr<ScaleProtocol> make_adam(const std::string& form);
std::unique_ptr<ScaleProtocol> make_protocol(const std::string& name, const std::string& form);

// The emulated scale. Its state is public to the protocol files (they are its parts, not its clients).
class Scale {
 public:
  Scale(Settings s, std::string link, double weight_g, Stream stream);
  void set_capacity(double g) { model.capacity_g = g; }
  PtyDevice* device() { return device_ ? &*device_ : nullptr; }

  void input(std::string_view bytes, steady::time_point now);  // bytes from the host
  void tick(steady::time_point now);                          // the clock: streams, deferred replies, auto print
  bool control(const std::string& line, steady::time_point now);  // a control line; false for "quit"
  std::uint64_t requests() const { return requests_; }

  // For the protocol files.
  void send(const std::string& line);  // appends CR LF
  Display display(steady::time_point now) const;
  std::string weight_line(steady::time_point now) const { return protocol_->weight_line(display(now)); }
  // Waits for stability: true when stable, false to wait, nullopt when the wait has timed out.
  std::optional<bool> settled(const Request& r, steady::time_point now) const;
  // Tare / zero on the model. Returns "" when done, else the reason: "I" busy/unstable/refused, "+", "-".
  std::string do_tare(steady::time_point now);
  std::string do_zero(steady::time_point now);
  double in_unit(double grams) const;  // rounded to the display's resolution

  Settings s;
  Model model;
  Stream stream;
  const Stream stream_setting;  // the menu's output mode (--stream); SIR and CA change `stream` for the session
  steady::time_point next_stream{};
  std::string last_auto;
  std::deque<Request> queue;
  bool refuse_tare = false, refuse_zero = false, stable_only = false;

 private:
  bool say(const std::string& what);
  void process(steady::time_point now);
  void play(const std::string& path);

  std::unique_ptr<ScaleProtocol> protocol_;
  std::string link_;
  std::optional<PtyDevice> device_;
  std::string in_;
  steady::time_point seen_{};
  bool silent_ = false;
  std::uint64_t requests_ = 0;
};

}  // namespace tally::emu::scale
