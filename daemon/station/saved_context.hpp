#pragma once
// The production context saved in the buffer's state table (with the commit that holds the records describing it):
// at once after every transition, and at most every `interval` for the step accumulators that readings change many
// times a second (last stable weight, time in range), so that a reading does not cost a state write.
#include <chrono>

#include "buffer/buffer.hpp"
#include "production/production.hpp"
#include "production/store.hpp"

namespace tally {

class SavedContext {
 public:
  SavedContext(Production& production, Buffer& buffer) : production_(production), buffer_(buffer) {}

  void save() {
    save_production(production_, buffer_);  // the context document and the serial rows added since
    dirty_ = false;
    saved_at_ = std::chrono::steady_clock::now();
  }
  // Readings changed the accumulators: saved when the last save is at least `interval` old.
  void accumulators_changed() {
    dirty_ = true;
    if (std::chrono::steady_clock::now() - saved_at_ >= interval) save();
  }
  void save_if_changed() {  // at shutdown
    if (dirty_) save();
  }

  static constexpr std::chrono::seconds interval{10};

 private:
  Production& production_;
  Buffer& buffer_;
  bool dirty_ = false;
  std::chrono::steady_clock::time_point saved_at_{};
};

}  // namespace tally
