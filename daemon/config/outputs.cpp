// [[outputs]]: name, chip, line, active_low (shared/PRODUCT.md), and `fake = true` for a simulated line.
#include <map>

#include "config/config.hpp"
#include "config/sections.hpp"
#include "gpio/gpio.hpp"
#include "api/table_reader.hpp"

namespace tally {

std::vector<OutputConfig> read_outputs(const toml::table& root, Diagnostics& diag) {
  std::vector<OutputConfig> outputs;
  const toml::node* node = root.get("outputs");
  if (!node) return outputs;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    diag.error(node->source(), "outputs must be an array of tables: [[outputs]]");
    return outputs;
  }
  std::map<std::string, std::size_t> seen;                  // name -> line of its first definition
  std::map<std::pair<std::string, std::string>, std::string> lines;  // (chip, line) -> output
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    const auto name_value = table["name"].value<std::string>();
    TableReader k(table, "outputs[" + std::to_string(i + 1) + "]" + (name_value ? " (" + *name_value + ")" : ""), diag);
    OutputConfig o;
    o.name = k.required_string("name");
    if (!o.name.empty() && (o.name.size() > 64 || !matches_regex(o.name, "[a-z0-9_-]+")))
      k.error("name", "must match [a-z0-9_-]{1,64}");
    if (!o.name.empty()) {
      const auto [it, inserted] = seen.emplace(o.name, table.get("name")->source().begin.line);
      if (!inserted)
        k.error("name", "duplicate output name \"" + o.name + "\" (first defined at line " + std::to_string(it->second) + ")");
    }
    o.chip = k.string("chip", "gpiochip0");
    o.line = gpio::line_key(k, "line");
    o.active_low = k.boolean("active_low", false);
    o.fake = k.boolean("fake", false);
    if (!o.line.empty()) {
      const auto [it, inserted] = lines.emplace(std::pair(o.chip, o.line), o.name);
      if (!inserted) k.error("line", "already used by output \"" + it->second + "\"");
    }
    k.finish();
    outputs.push_back(std::move(o));
  }
  return outputs;
}

}  // namespace tally
