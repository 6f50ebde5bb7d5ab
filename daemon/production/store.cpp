#include "production/store.hpp"

#include <charconv>
#include <map>

namespace tally {

void save_production(Production& production, Buffer& buffer) {
  buffer.put_state(kContextKey, production.save());
  if (const auto recipe = production.take_recipe_row()) buffer.put_state(kBatchRecipeKey, *recipe);
  for (auto& row : production.take_serial_rows()) {
    const std::string key = kSerialPrefix + row.serial;
    if (row.unit) buffer.put_state(key, std::to_string(*row.unit));
    else buffer.erase_state(key);
  }
}

std::optional<std::string> restore_production(Production& production, Buffer& buffer) {
  std::optional<std::string> warning;
  if (const auto saved = buffer.get_state(kContextKey)) {
    const auto recipe = buffer.get_state(kBatchRecipeKey);
    warning = production.restore(*saved, recipe ? &*recipe : nullptr);
  }
  std::map<std::string, std::int64_t> serials;
  const std::string prefix = kSerialPrefix;
  for (const auto& [key, value] : buffer.states_with_prefix(prefix)) {
    std::int64_t unit = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), unit);
    // Written by save_production only; a row that does not read as a unit number still names a serial taken.
    if (ec != std::errc() || end != value.data() + value.size()) unit = 0;
    serials.emplace(key.substr(prefix.size()), unit);
  }
  production.restore_serials(serials);
  if (production.serial_rows_pending()) save_production(production, buffer);
  return warning;
}

}  // namespace tally
