// [station], [mqtt] and [buffer]: what a client of the station (tallyctl) needs, without the drivers.
#include "config/sections.hpp"

#include <cstdlib>
#include <regex>

#include "config/config_error.hpp"
#include "config/small_file.hpp"
#include "api/table_reader.hpp"

namespace tally {

config_error::config_error(std::vector<std::string> problems_in)
    : std::runtime_error(problems_in.empty() ? "invalid configuration" : problems_in.front()),
      problems(std::move(problems_in)) {}

bool MqttConfig::tls() const { return url.rfind("ssl://", 0) == 0 || url.rfind("mqtts://", 0) == 0; }

namespace {

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
  // The first line; a trailing newline from `echo` is not part of the password.
  std::string error;
  auto secret = read_first_line(file, kMaxSecretBytes, error);
  if (!secret) keys.error(key, "cannot read " + file + ": " + error);
  return secret.value_or("");
}

std::string read_credential(TableReader& keys, const std::string& key, const std::string& file) {
  std::string error;
  auto secret = read_first_line(file, kMaxSecretBytes, error);
  if (!secret) keys.error(key, "cannot read the credential " + file + ": " + error);
  return secret.value_or("");
}

void check_readable(TableReader& keys, const std::string& key, const std::string& file) {
  // TLS files are read by the TLS library when connecting; here only whether they can be (without blocking on a
  // FIFO or reading a device: the same checks as every other file the configuration names).
  std::string error;
  if (!file.empty() && !read_small_file(file, kMaxConfigBytes, error)) keys.error(key, "cannot read " + file + ": " + error);
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
  // password_credential: a systemd credential (LoadCredential=NAME:FILE in the unit) read from
  // $CREDENTIALS_DIRECTORY/NAME. Outside systemd (tallyctl, tallyd by hand) password_file, when also given, is used.
  const std::string credential = k.string("password_credential", "");
  if (!credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (credential.find('/') != std::string::npos || credential == "." || credential == "..")
      k.error("password_credential", "must be a credential name (LoadCredential=NAME:...), not a path");
    else if (dir != nullptr && *dir != '\0')
      m.password = read_credential(k, "password_credential", std::string(dir) + "/" + credential);
    else if (m.password.empty())
      k.error("password_credential", "$CREDENTIALS_DIRECTORY is not set (tallyd is not running under systemd with "
                                     "LoadCredential=" + credential + ":FILE); set password_file for use outside systemd");
  }
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

}  // namespace

bool matches_regex(const std::string& s, const char* re) { return matches(s, re); }

void read_sections(const toml::table& root, TableReader& top, Diagnostics& diag, Config& config) {
  if (const auto* t = sub_table(root, "station", diag, true)) {
    TableReader k(*t, "[station]", diag);
    config.station = read_station(k);
    k.finish();
  }
  top.consume("station");
  if (const auto* t = sub_table(root, "mqtt", diag, false)) {
    TableReader k(*t, "[mqtt]", diag);
    config.mqtt = read_mqtt(k, config.station.id, config.path);
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
}

toml::table parse_toml(std::string_view text, Diagnostics& diag) {
  try {
    return toml::parse(text, diag.path());
  } catch (const toml::parse_error& e) {
    diag.error(e.source(), std::string(e.description()));
    throw config_error(diag.problems());
  }
}

std::string read_config_file(const std::string& path) {
  std::string error;
  auto text = read_small_file(path, kMaxConfigBytes, error);
  if (!text) throw config_error({path + ": cannot read the configuration file: " + error});
  return *text;
}

Config load_connection_config(const std::string& path) {
  Diagnostics diag(path);
  const toml::table root = parse_toml(read_config_file(path), diag);
  Config config;
  config.path = path;
  TableReader top(root, "", diag);
  read_sections(root, top, diag, config);  // the other sections are the daemon's business
  if (!diag.empty()) throw config_error(diag.problems());
  return config;
}

}  // namespace tally
