#include "table_reader.hpp"
#include "gpio.hpp"

namespace tally::gpio {

std::string line_key_or(TableReader& keys, const std::string& key, const std::string& fallback) {
  const toml::node* node = keys.table().get(key);
  if (!node) return fallback;
  if (node->is_integer()) return std::to_string(keys.integer(key, 0, 0, 4095));
  if (node->is_string()) {
    std::string name = keys.string(key, "");
    if (name.empty()) keys.error(key, "must be a line number or a line name such as \"GPIO17\"");
    return name;
  }
  keys.error(key, "must be a line number (17) or a line name (\"GPIO17\")");
  keys.consume(key);
  return fallback;
}

std::string line_key(TableReader& keys, const std::string& key) {
  if (!keys.has(key)) {
    keys.error(key, "\"" + key + "\" is required: a line number (17) or a line name (\"GPIO17\")");
    return "";
  }
  return line_key_or(keys, key, "");
}

}  // namespace tally::gpio
