#include "config/config.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "config/alarms.hpp"
#include "config/sections.hpp"
#include "config/config_error.hpp"
#include "api/table_reader.hpp"

namespace tally {

namespace {


bool matches(const std::string& s, const char* re) { return matches_regex(s, re); }

std::vector<DeviceConfig> read_devices(const toml::table& root, Diagnostics& diag) {
  std::vector<DeviceConfig> devices;
  const toml::node* node = root.get("devices");
  if (!node) return devices;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    diag.error(node->source(), "devices must be an array of tables: [[devices]]");
    return devices;
  }
  std::map<std::string, toml::source_position> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    const auto* name_node = table.get("name");
    const std::string label = name_node && name_node->is_string() && name_node->as_string()->get().size() <= limits::name
                                  ? "devices[" + std::to_string(i + 1) + "] (" + *name_node->value<std::string>() + ")"
                                  : "devices[" + std::to_string(i + 1) + "]";
    TableReader k(table, label, diag);
    DeviceConfig d;
    d.name = k.required_string("name");
    if (!d.name.empty() && !matches(d.name, "[a-z0-9_-]+")) k.error("name", "must match [a-z0-9_-]+");
    if (!d.name.empty()) {
      const auto [it, inserted] = seen.emplace(d.name, table.get("name")->source().begin);
      if (!inserted)
        k.error("name", "duplicate device name \"" + d.name + "\" (first defined at line " +
                            std::to_string(it->second.line) + ")");
    }
    d.driver = k.required_string("driver");
    d.stale_s = k.number("stale_s", 0, 0, 1e7);
    d.publish_every_s = k.number("publish_every_s", 0, 0, 1e7);
    d.deadband = k.number("deadband", 0, 0, 1e12);
    d.feedback = k.string("feedback", "");
    if (const DriverSpec* spec = find_driver(d.driver)) {
      d.make = spec->configure(k);
    } else if (!d.driver.empty()) {
      std::vector<std::string> names;
      for (const auto& s : driver_registry()) names.emplace_back(s.name);
      std::sort(names.begin(), names.end());
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      k.error("driver", "unknown driver \"" + d.driver + "\" (known: " + known + ")");
      for (const auto& [key, value] : table) k.consume(std::string(key.str()));  // its keys are not "unknown"
    }
    k.finish();
    devices.push_back(std::move(d));
  }
  return devices;
}

// A device's `feedback` must name an [[outputs]] table.
void check_feedback(const toml::table& root, Config& config, Diagnostics& diag) {
  const toml::array* array = root["devices"].as_array();
  for (std::size_t i = 0; array && i < config.devices.size() && i < array->size(); ++i) {
    const auto& d = config.devices[i];
    if (d.feedback.empty()) continue;
    bool known = false;
    for (const auto& o : config.outputs) known = known || o.name == d.feedback;
    // No [[outputs]] at all: scans and counts still work, only the beeps are missing (not an error).
    if (!known && config.outputs.empty()) continue;
    if (!known)
      diag.error(array->get(i)->as_table()->get("feedback")->source(),
                 "devices[" + std::to_string(i + 1) + "] (" + d.name + ") feedback: no [[outputs]] named \"" +
                     d.feedback + "\"");
  }
}

}  // namespace

Config parse_config(std::string_view text, const std::string& path) {
  Diagnostics diag(path);
  const toml::table root = parse_toml(text, diag);
  Config config;
  config.path = path;
  TableReader top(root, "", diag);
  read_sections(root, top, diag, config);
  config.devices = read_devices(root, diag);
  top.consume("devices");
  config.recipes = read_recipes(root, config.devices, diag);
  top.consume("recipes");
  config.alarms = read_alarm_rules(root, config.devices, diag);
  top.consume("alarms");
  config.notify = read_notify_targets(root, path, diag);
  top.consume("notify");
  config.scan_rules = read_scan_rules(root, diag);
  top.consume("scan_rules");
  config.outputs = read_outputs(root, diag);
  top.consume("outputs");
  check_feedback(root, config, diag);
  top.finish();
  if (!diag.empty()) throw config_error(diag.problems());
  return config;
}

const Recipe* Config::find_recipe(const std::string& id) const {
  for (const auto& r : recipes)
    if (r.id == id) return &r;
  return nullptr;
}

const DeviceConfig* Config::find_device(const std::string& name) const {
  for (const auto& d : devices)
    if (d.name == name) return &d;
  return nullptr;
}

Config load_config(const std::string& path) { return parse_config(read_config_file(path), path); }

}  // namespace tally
