#pragma once
// Splits a byte stream into lines ending in CR, LF or CR LF. Pure: bytes in, lines out, no I/O, so a line split
// across reads, two lines in one read and garbage are tested with plain strings.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tally {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 256) : max_line_(max_line) {}
  // Appends `bytes`; complete lines go to `out` (without terminator, empty lines skipped). A line longer than
  // max_line is discarded up to its terminator and counted in overlong().
  void feed(std::string_view bytes, std::vector<std::string>& out);
  void reset() { partial_.clear(), discarding_ = false; }
  std::size_t overlong() const { return overlong_; }

 private:
  std::size_t max_line_;
  std::string partial_;
  bool discarding_ = false;
  std::size_t overlong_ = 0;
};

// True when every byte is printable ASCII or a tab: anything else is line noise (wrong baud, a glitch).
bool printable_line(std::string_view line);

}  // namespace tally
