#include "driver_testing.hpp"

#include <stdexcept>

#include "table_reader.hpp"

namespace tally::test {

ConfiguredDriver configure_driver(DriverFactory (*configure)(TableReader&), std::string_view document,
                                  const std::string& path, std::size_t index) {
  ConfiguredDriver out;
  Diagnostics diag(path);
  toml::table root;
  try {
    root = toml::parse(document, path);
  } catch (const toml::parse_error& e) {
    diag.error(e.source(), std::string(e.description()));
    out.problems = diag.problems();
    return out;
  }
  const toml::array* devices = root["devices"].as_array();
  const toml::table* table = devices && index < devices->size() ? devices->get(index)->as_table() : nullptr;
  if (!table) throw std::runtime_error("configure_driver: the document has no [[devices]] table " + std::to_string(index));
  TableReader keys(*table, "devices[" + std::to_string(index) + "]", diag);
  for (const char* common : {"name", "driver", "stale_s", "publish_every_s", "deadband", "feedback"})
    keys.consume(common);
  DriverFactory make = configure(keys);
  keys.finish();
  out.problems = diag.problems();
  if (out.problems.empty()) out.make = std::move(make);
  return out;
}

std::size_t device_count(std::string_view document) {
  const toml::table root = toml::parse(document);
  const toml::array* devices = root["devices"].as_array();
  return devices ? devices->size() : 0;
}

std::unique_ptr<Driver> make_driver(DriverFactory (*configure)(TableReader&), std::string_view document) {
  auto c = configure_driver(configure, document);
  if (!c.problems.empty()) throw std::runtime_error(c.problems.front());
  return c.make();
}

}  // namespace tally::test
