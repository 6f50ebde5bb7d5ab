#include "table_reader.hpp"

#include <cmath>
#include <regex>


namespace tally {

void Diagnostics::error(const toml::source_region& where, const std::string& message) {
  if (where.begin.line == 0) return error(message);
  problems_.push_back(path_ + ":" + std::to_string(where.begin.line) + ":" + std::to_string(where.begin.column) +
                      ": " + message);
}

void Diagnostics::error(const std::string& message) { problems_.push_back(path_ + ": " + message); }

TableReader::TableReader(const toml::table& table, std::string where, Diagnostics& diag)
    : table_(table), where_(std::move(where)), diag_(diag) {}

const toml::node* TableReader::get(const std::string& key) {
  used_.insert(key);
  return table_.get(key);
}

void TableReader::error(const std::string& key, const std::string& message) {
  const toml::node* node = table_.get(key);
  diag_.error(node ? node->source() : table_.source(), where_ + " " + key + ": " + message);
}

void TableReader::wrong_type(const std::string& key, const char* expected) {
  error(key, std::string("expected ") + expected);
}

std::string TableReader::string(const std::string& key, const std::string& fallback) {
  const toml::node* node = get(key);
  if (!node) return fallback;
  if (auto s = node->value<std::string>(); s && node->is_string()) return *s;
  wrong_type(key, "a string");
  return fallback;
}

std::string TableReader::required_string(const std::string& key) {
  if (!table_.contains(key)) {
    used_.insert(key);
    diag_.error(table_.source(), where_ + ": missing required key '" + key + "'");
    return {};
  }
  std::string value = string(key, {});
  if (value.empty() && table_.get(key)->is_string()) error(key, "must not be empty");
  return value;
}

std::string TableReader::choice(const std::string& key, const std::string& fallback,
                                const std::vector<std::string>& allowed) {
  std::string value = string(key, fallback);
  for (const auto& a : allowed)
    if (a == value) return value;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
  error(key, "\"" + value + "\" is not one of " + list);
  return fallback;
}

std::int64_t TableReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const toml::node* node = get(key);
  if (!node) return fallback;
  if (!node->is_integer()) {
    wrong_type(key, "an integer");
    return fallback;
  }
  const auto value = *node->value<std::int64_t>();
  if (value < min || value > max) {
    error(key, std::to_string(value) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return fallback;
  }
  return value;
}

double TableReader::number(const std::string& key, double fallback, double min, double max) {
  const toml::node* node = get(key);
  if (!node) return fallback;
  if (!node->is_number()) {
    wrong_type(key, "a number");
    return fallback;
  }
  const double value = *node->value<double>();
  if (!std::isfinite(value) || value < min || value > max) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%g is out of range [%g, %g]", value, min, max);
    error(key, buf);
    return fallback;
  }
  return value;
}

bool TableReader::boolean(const std::string& key, bool fallback) {
  const toml::node* node = get(key);
  if (!node) return fallback;
  if (!node->is_boolean()) {
    wrong_type(key, "true or false");
    return fallback;
  }
  return *node->value<bool>();
}

std::string TableReader::regex(const std::string& key, const std::string& fallback) {
  std::string pattern = string(key, fallback);
  if (pattern.empty()) return pattern;
  try {
    std::regex compiled(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    error(key, std::string("invalid regular expression: ") + e.what());
    return fallback;
  }
  return pattern;
}

void TableReader::finish() {
  for (const auto& [key, node] : table_) {
    const std::string name(key.str());
    if (!used_.count(name)) diag_.error(key.source(), (where_.empty() ? std::string() : where_ + ": ") + "unknown key '" + name + "'");
  }
}

}  // namespace tally
