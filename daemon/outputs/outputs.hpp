#pragma once
// Outputs (buzzers, stack lights) as the station uses them: scan feedback plays a short pattern, alarms hold an
// output on while they are active and unacknowledged. The GPIO implementation is [[outputs]]'s; until one is
// configured (and in tests) the station talks to this interface only.
#include <string>

namespace tally {

// One [[outputs]] table (read by config/outputs.cpp): a GPIO line driving a buzzer or a stack light.
struct OutputConfig {
  std::string name;
  std::string chip = "gpiochip0";  // name, path, number or label ("pinctrl-rp1" on a Pi 5)
  std::string line;                // number or device-tree line name ("GPIO23")
  bool active_low = false;
  bool fake = false;               // `fake = true`: a simulated line (demo, tests); changes are only logged
};


enum class OutputPattern {
  accepted,  // a scan was taken: one short beep / flash
  refused,   // a scan was refused: three short beeps / flashes
};

class Outputs {
 public:
  virtual ~Outputs() = default;
  virtual bool has(const std::string& output) const = 0;
  // Plays a short pattern on `output`; it ends by itself, back to the output's held state.
  virtual void play(const std::string& output, OutputPattern pattern) = 0;
  // Holds `output` on while any holder wants it (an alarm id names itself as the holder).
  virtual void hold(const std::string& output, const std::string& holder, bool on) = 0;
  // Every output to its inactive level and handed back (shutdown). Nothing is driven afterwards.
  virtual void release() noexcept {}
  // Reports every output's current level again (after a reconnect, for the retained B/outputs/<name>).
  virtual void republish() {}
};

}  // namespace tally
