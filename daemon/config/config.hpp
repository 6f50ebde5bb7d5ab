#pragma once
// The configuration file (TOML), validated as a whole: load_config() reports every problem at once, each as
// "PATH:LINE:COLUMN: message", by throwing config_error. The keys are those of shared/PRODUCT.md.
#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alarms/rules.hpp"
#include "outputs/outputs.hpp"
#include "record/context.hpp"
#include "api/driver.hpp"
#include "production/recipe.hpp"
#include "scan/scan_rules.hpp"

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
  std::vector<AlarmRule> alarms;       // [[alarms]] (daemon/alarms/alarms_config.cpp)
  std::vector<NotifyTarget> notify;    // [[notify]]
  std::vector<scan::ScanRule> scan_rules;  // [[scan_rules]], in file order: the first match wins
  std::vector<OutputConfig> outputs;
  std::vector<std::string> warnings;  // valid, but worth telling (e.g. a section this version ignores)
  std::string base_topic() const { return station.prefix + "/" + station.id; }
  const Recipe* find_recipe(const std::string& id) const;
  const DeviceConfig* find_device(const std::string& name) const;
};

Config load_config(const std::string& path);                     // reads the file
Config parse_config(std::string_view text, const std::string& path);  // `path` is used in messages and for
                                                                  // resolving password_file relative paths

}  // namespace tally
