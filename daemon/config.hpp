#pragma once
// The configuration file (TOML), validated as a whole: load_config() reports every problem at once, each as
// "PATH:LINE:COLUMN: message", by throwing config_error. The keys are those of shared/PRODUCT.md.
#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "context.hpp"
#include "driver.hpp"
#include "recipe.hpp"
#include "scan_rules.hpp"

namespace tally {

struct StationConfig {
  std::string id;
  std::string prefix = "tally";
  Mode mode = Mode::process;
  int downtime_s = 300;
};

struct MqttConfig {
  std::string url = "tcp://127.0.0.1:1883";
  std::string client_id;  // "tally-<station id>" when not set
  std::string username;
  std::string password;   // read from password_file; never in the config itself
  std::string ca_file, cert_file, key_file;
  int keepalive_s = 30;
  int version = 4;        // 4 = MQTT 3.1.1, 5 = MQTT 5
  bool tls() const;
};

struct BufferConfig {
  std::string path = "/var/lib/tally/buffer.db";
  std::uint64_t max_bytes = 256ull << 20;
  bool sync_full = false;
};

struct DeviceConfig {
  std::string name;
  std::string driver;
  double stale_s = 0;
  double publish_every_s = 0;
  double deadband = 0;
  std::string feedback;  // an [[outputs]] name: accepted and refused scans are signalled on it
  DriverFactory make;  // builds the driver with its parsed settings; no I/O until open()
};

struct Config {
  std::string path;
  StationConfig station;
  MqttConfig mqtt;
  BufferConfig buffer;
  std::vector<DeviceConfig> devices;
  std::vector<Recipe> recipes;
  std::vector<scan::ScanRule> scan_rules;  // [[scan_rules]], in file order: the first match wins
  std::vector<std::string> warnings;  // valid, but worth telling (e.g. a section this version ignores)
  std::string base_topic() const { return station.prefix + "/" + station.id; }
  const Recipe* find_recipe(const std::string& id) const;
  const DeviceConfig* find_device(const std::string& name) const;
};

class Diagnostics;
// Reads [[recipes]] (daemon/recipes_config.cpp): every problem reported with its position; steps naming a device
// that `devices` does not have are errors.
std::vector<Recipe> read_recipes(const toml::table& root, const std::vector<DeviceConfig>& devices, Diagnostics& diag);

// Reads [[scan_rules]] (daemon/scan_rules_config.cpp): patterns checked (syntax, length, nesting) with their
// position, actions must be production commands.
std::vector<scan::ScanRule> read_scan_rules(const toml::table& root, Diagnostics& diag);

Config load_config(const std::string& path);                     // reads the file
Config parse_config(std::string_view text, const std::string& path);  // `path` is used in messages and for
                                                                  // resolving password_file relative paths

}  // namespace tally
