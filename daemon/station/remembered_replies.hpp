#pragma once
// Commands with an id (a string or an integer of at most 128 characters) are remembered with their reply, in the
// buffer's state table beside the effects they had (one row each, committed in the same transaction), so that a
// client retrying after a lost reply gets its first reply again and does not count a unit twice. "status" changes
// nothing and is not remembered. At most kCapacity are kept, none longer than kKeepFor.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "buffer/buffer.hpp"

namespace tally {

class RememberedReplies {
 public:
  explicit RememberedReplies(Buffer& buffer) : buffer_(buffer) {}

  void load();  // at start: the rows the buffer kept
  // The state key a command is remembered under; "" when it is not remembered.
  static std::string key(const json& id, const std::string& cmd);
  std::optional<std::string> find(const std::string& key) const;  // the first reply
  void remember(const std::string& key, const std::string& reply);

  static constexpr const char* kPrefix = "cmd-id/";
  static constexpr std::size_t kCapacity = 1000;
  static constexpr std::chrono::hours kKeepFor{24};

 private:
  Buffer& buffer_;
  std::deque<std::pair<std::int64_t, std::string>> remembered_;  // (wall ms, state key), oldest first
};

}  // namespace tally
