#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "errors.hpp"
#include "table_reader.hpp"

namespace tally {

config_error::config_error(std::vector<std::string> problems_in)
    : std::runtime_error(problems_in.empty() ? "invalid configuration" : problems_in.front()),
      problems(std::move(problems_in)) {}

bool MqttConfig::tls() const { return url.rfind("ssl://", 0) == 0 || url.rfind("mqtts://", 0) == 0; }

namespace {

// Sections of PRODUCT.md that later issues implement: accepted, reported as ignored.
const std::vector<std::string> not_yet_implemented = {"outputs", "scan_rules", "alarms"};

bool matches(const std::string& s, const char* re) { return std::regex_match(s, std::regex(re)); }

// A table that must be a table: [station] written as `station = 1` is an error, not a crash.
const toml::table* sub_table(const toml::table& root, const std::string& key, Diagnostics& diag, bool required) {
  const toml::node* node = root.get(key);
  if (!node) {
    if (required) diag.error("missing required section [" + key + "]");
    return nullptr;
  }
  if (!node->is_table()) {
    diag.error(node->source(), "[" + key + "] must be a table");
    return nullptr;
  }
  return node->as_table();
}

std::string read_secret(TableReader& keys, const std::string& key, const std::string& config_path) {
  std::string file = keys.string(key, "");
  if (file.empty()) return {};
  if (file[0] != '/') {  // relative to the config file, as a person editing it next to the secret expects
    const auto slash = config_path.rfind('/');
    if (slash != std::string::npos) file = config_path.substr(0, slash + 1) + file;
  }
  std::ifstream in(file);
  if (!in) {
    keys.error(key, "cannot read " + file);
    return {};
  }
  std::string secret;
  std::getline(in, secret);  // the first line; a trailing newline from `echo` is not part of the password
  return secret;
}

void check_readable(TableReader& keys, const std::string& key, const std::string& file) {
  if (!file.empty() && !std::ifstream(file)) keys.error(key, "cannot read " + file);
}

StationConfig read_station(TableReader& k) {
  StationConfig s;
  s.id = k.required_string("id");
  if (!s.id.empty() && !matches(s.id, "[A-Za-z0-9_-]+")) k.error("id", "must match [A-Za-z0-9_-]+");
  s.prefix = k.string("prefix", "tally");
  if (s.prefix.empty() || s.prefix.front() == '/' || s.prefix.back() == '/' ||
      s.prefix.find("//") != std::string::npos || s.prefix.find_first_of("+#") != std::string::npos)
    k.error("prefix", "must be topic levels separated by '/', without '+', '#' or empty levels");
  s.mode = k.choice("mode", "process", {"process", "discrete"}) == "discrete" ? Mode::discrete : Mode::process;
  s.downtime_s = static_cast<int>(k.integer("downtime_s", 300, 1, 86400));
  return s;
}

MqttConfig read_mqtt(TableReader& k, const std::string& station_id, const std::string& config_path) {
  MqttConfig m;
  m.url = k.string("url", m.url);
  if (!matches(m.url, R"((tcp|ssl|mqtt|mqtts)://[^/:\s]+(:[0-9]{1,5})?)"))
    k.error("url", "\"" + m.url + "\" is not tcp://HOST:PORT or ssl://HOST:PORT");
  m.client_id = k.string("client_id", "");
  if (m.client_id.empty()) m.client_id = "tally-" + station_id;
  m.username = k.string("username", "");
  m.password = read_secret(k, "password_file", config_path);
  m.ca_file = k.string("ca_file", "");
  m.cert_file = k.string("cert_file", "");
  m.key_file = k.string("key_file", "");
  check_readable(k, "ca_file", m.ca_file);
  check_readable(k, "cert_file", m.cert_file);
  check_readable(k, "key_file", m.key_file);
  if (m.cert_file.empty() != m.key_file.empty())
    k.error(m.cert_file.empty() ? "key_file" : "cert_file", "cert_file and key_file go together");
  if (!m.tls() && (!m.ca_file.empty() || !m.cert_file.empty()))
    k.error("url", "TLS files are set but the url is not ssl:// or mqtts://");
  m.keepalive_s = static_cast<int>(k.integer("keepalive_s", 30, 1, 65535));
  m.version = k.choice("version", "3.1.1", {"3.1.1", "5"}) == "5" ? 5 : 4;
  return m;
}

BufferConfig read_buffer(TableReader& k) {
  BufferConfig b;
  b.path = k.string("path", b.path);
  if (b.path.empty()) k.error("path", "must not be empty");
  // Fractions of a MB are allowed (small test buffers); the unit is MiB.
  b.max_bytes = static_cast<std::uint64_t>(k.number("max_mb", 256, 0.01, 1'000'000) * 1024 * 1024);
  b.sync_full = k.choice("sync", "normal", {"normal", "full"}) == "full";
  return b;
}

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
    const std::string label = name_node && name_node->is_string()
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

}  // namespace

Config parse_config(std::string_view text, const std::string& path) {
  Diagnostics diag(path);
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    diag.error(e.source(), std::string(e.description()));
    throw config_error(diag.problems());
  }

  Config config;
  config.path = path;
  TableReader top(root, "", diag);

  if (const auto* t = sub_table(root, "station", diag, true)) {
    TableReader k(*t, "[station]", diag);
    config.station = read_station(k);
    k.finish();
  }
  top.consume("station");
  if (const auto* t = sub_table(root, "mqtt", diag, false)) {
    TableReader k(*t, "[mqtt]", diag);
    config.mqtt = read_mqtt(k, config.station.id, path);
    k.finish();
  } else {
    config.mqtt.client_id = "tally-" + config.station.id;
  }
  top.consume("mqtt");
  if (const auto* t = sub_table(root, "buffer", diag, false)) {
    TableReader k(*t, "[buffer]", diag);
    config.buffer = read_buffer(k);
    k.finish();
  }
  top.consume("buffer");
  config.devices = read_devices(root, diag);
  top.consume("devices");
  config.recipes = read_recipes(root, config.devices, diag);
  top.consume("recipes");
  for (const auto& section : not_yet_implemented) {
    if (const auto* node = root.get(section)) {
      const auto& pos = node->source().begin;
      config.warnings.push_back(path + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
                                ": warning: [[" + section + "]] is not implemented in this version and is ignored");
      top.consume(section);
    }
  }
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

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw config_error({path + ": cannot read the configuration file"});
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace tally
