#include "station/remembered_replies.hpp"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace tally {

std::string RememberedReplies::key(const json& id, const std::string& cmd) {
  if (cmd.empty() || cmd == "status" || !(id.is_string() || id.is_number_integer())) return {};
  std::string text = to_text(id);
  if (text.size() > 128) return {};
  return kPrefix + text;
}

void RememberedReplies::load() {
  std::vector<std::pair<std::int64_t, std::string>> saved;
  for (const auto& [key, value] : buffer_.states_with_prefix(kPrefix)) saved.emplace_back(std::atoll(value.c_str()), key);
  std::sort(saved.begin(), saved.end());
  for (auto& [ms, key] : saved) remembered_.emplace_back(ms, std::move(key));
}

std::optional<std::string> RememberedReplies::find(const std::string& key) const {
  if (key.empty()) return std::nullopt;
  const auto saved = buffer_.get_state(key);  // "<wall ms> <reply>"
  if (!saved) return std::nullopt;
  return saved->substr(std::min(saved->find(' ') + 1, saved->size()));
}

void RememberedReplies::remember(const std::string& key, const std::string& reply) {
  if (key.empty()) return;
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  buffer_.put_state(key, std::to_string(now) + " " + reply);
  remembered_.emplace_back(now, key);
  const std::int64_t too_old = now - std::chrono::duration_cast<std::chrono::milliseconds>(kKeepFor).count();
  while (!remembered_.empty() && (remembered_.size() > kCapacity || remembered_.front().first < too_old)) {
    // An id seen again is in the deque twice: only erase the row when this entry is its latest.
    const auto& [ms, old] = remembered_.front();
    if (old != key) buffer_.erase_state(old);
    remembered_.pop_front();
  }
}

}  // namespace tally
