// [[alarms]] and [[notify]] (see rules.hpp, docs/alarms.md): every problem reported with its position, all at once.
#include "config/alarms.hpp"
#include "config/small_file.hpp"

#include <cstdlib>
#include <map>
#include <regex>

namespace tally {

namespace {

const toml::array* tables(const toml::table& root, const char* key, Diagnostics& diag) {
  const toml::node* node = root.get(key);
  if (!node) return nullptr;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    diag.error(node->source(), std::string(key) + " must be an array of tables: [[" + key + "]]");
    return nullptr;
  }
  return array;
}

std::string label(const char* prefix, std::size_t i, const toml::table& t, const char* key) {
  std::string s = std::string(prefix) + "[" + std::to_string(i + 1) + "]";
  if (const auto* n = t.get(key); n && n->is_string() && !n->value<std::string>()->empty())
    s += " (" + *n->value<std::string>() + ")";
  return s;
}

bool name_like(const std::string& s) {
  static const std::regex re("[a-z0-9_-]{1,64}");
  return std::regex_match(s, re);
}

Severity severity(TableReader& k, const char* key, const char* fallback) {
  return *severity_from(k.choice(key, fallback, {"info", "warning", "critical"}));
}

}  // namespace

std::vector<AlarmRule> read_alarm_rules(const toml::table& root, const std::vector<DeviceConfig>& devices,
                                        Diagnostics& diag) {
  std::vector<AlarmRule> rules;
  const toml::array* array = tables(root, "alarms", diag);
  if (!array) return rules;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    TableReader k(table, label("alarms", i, table, "id"), diag);
    AlarmRule r;
    r.id = k.required_string("id");
    if (!r.id.empty()) {
      if (!name_like(r.id)) k.error("id", "must match [a-z0-9_-]{1,64}");
      const auto [it, inserted] = seen.emplace(r.id, table.get("id")->source().begin.line);
      if (!inserted)
        k.error("id", "duplicate alarm id \"" + r.id + "\" (first defined at line " + std::to_string(it->second) + ")");
    }
    r.device = k.required_string("device");
    if (!r.device.empty()) {
      bool known = false;
      std::string list;
      for (const auto& d : devices) {
        known = known || d.name == r.device;
        list += (list.empty() ? "" : ", ") + d.name;
      }
      if (!known) k.error("device", "unknown device \"" + r.device + "\" (devices: " + (list.empty() ? "none" : list) + ")");
    }
    if (k.has("above")) r.above = k.number("above", 0, -1e15, 1e15);
    if (k.has("below")) r.below = k.number("below", 0, -1e15, 1e15);
    if (!r.above && !r.below) k.error("id", "needs \"above\" or \"below\" (or both)");
    if (r.above && r.below && !(*r.below < *r.above)) k.error("below", "must be less than above");
    r.for_s = k.number("for_s", 0, 0, 1e7);
    r.deadband = k.number("deadband", 0, 0, 1e15);
    r.clear_after_s = k.number("clear_after_s", kDefaultClearAfterS, 0, 1e7);
    r.severity = severity(k, "severity", "warning");
    r.output = k.string("output", "");
    if (!r.output.empty() && !name_like(r.output)) k.error("output", "must be an output name ([a-z0-9_-]{1,64})");
    k.finish();
    rules.push_back(std::move(r));
  }
  return rules;
}

std::vector<NotifyTarget> read_notify_targets(const toml::table& root, const std::string& config_path,
                                              Diagnostics& diag) {
  std::vector<NotifyTarget> targets;
  const toml::array* array = tables(root, "notify", diag);
  if (!array) return targets;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *array->get(i)->as_table();
    TableReader k(table, label("notify", i, table, "name"), diag);
    NotifyTarget t;
    t.name = k.string("name", "notify-" + std::to_string(i + 1));
    if (!name_like(t.name)) k.error("name", "must match [a-z0-9_-]{1,64}");
    if (!seen.emplace(t.name, i).second) k.error("name", "duplicate notify name \"" + t.name + "\"");
    const std::string file = k.string("url_file", "");
    const std::string credential = k.string("credential", "");
    if (file.size() > 4096) k.error("url_file", "longer than 4096 characters");
    std::string path;
    if (!file.empty() && !credential.empty()) {
      k.error("credential", "give url_file or credential, not both");
    } else if (!file.empty()) {
      path = file;
      if (path[0] != '/') {  // relative to the configuration file, like password_file
        const auto slash = config_path.rfind('/');
        if (slash != std::string::npos) path = config_path.substr(0, slash + 1) + path;
      }
    } else if (!credential.empty()) {
      // systemd's LoadCredential=/SetCredentialEncrypted=: the unit's credentials directory holds it.
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (!name_like(credential)) k.error("credential", "must be a credential name ([a-z0-9_-]{1,64})");
      else if (!dir) k.error("credential", "CREDENTIALS_DIRECTORY is not set (not started by systemd with LoadCredential=)");
      else path = std::string(dir) + "/" + credential;
    } else {
      k.error("url_file", "missing: give url_file (a file holding the URL) or credential (a systemd credential)");
    }
    if (!path.empty()) {
      // The URL is kept out of the configuration (it may carry a token): the first line of a file, read only up
      // to the URL limit (a FIFO or a huge file is refused at once, not read).
      std::string error;
      const auto url = read_first_line(path, kMaxSecretBytes, error);
      if (!url) {
        k.error(credential.empty() ? "url_file" : "credential", "cannot read " + path + ": " + error);
      } else if (url->size() > 4096) {
        k.error(credential.empty() ? "url_file" : "credential", path + ": the URL is longer than 4096 characters");
      } else if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
        // The URL itself is never printed: it may carry a token.
        k.error(credential.empty() ? "url_file" : "credential", path + ": expected an http:// or https:// URL");
      } else {
        t.url = *url;
      }
    }
    t.min_severity = severity(k, "min_severity", "warning");
    const std::string format = k.choice("format", "auto", {"auto", "webhook", "ntfy"});
    const bool ntfy_host = t.url.find("://ntfy.") != std::string::npos;
    t.format = format == "ntfy" || (format == "auto" && ntfy_host) ? NotifyFormat::ntfy : NotifyFormat::webhook;
    t.timeout_s = k.number("timeout_s", 10, 1, 300);
    k.finish();
    targets.push_back(std::move(t));
  }
  return targets;
}

}  // namespace tally
