#include "line_splitter.hpp"

namespace tally {

void LineSplitter::feed(std::string_view bytes, std::vector<std::string>& out) {
  for (char c : bytes) {
    if (c == '\r' || c == '\n') {
      if (!discarding_ && !partial_.empty()) out.push_back(std::move(partial_));
      partial_.clear();
      discarding_ = false;
      continue;
    }
    if (discarding_) continue;
    if (partial_.size() == max_line_) {
      ++overlong_;
      partial_.clear();
      discarding_ = true;
      continue;
    }
    partial_.push_back(c);
  }
}

bool printable_line(std::string_view line) {
  for (unsigned char c : line)
    if ((c < 0x20 && c != '\t') || c > 0x7e) return false;
  return true;
}

}  // namespace tally
