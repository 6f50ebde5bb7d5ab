#include "table_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>
#include <regex>


namespace tally {

namespace limits {

bool is_name_key(const std::string& key) {
  for (const char* name : {"id", "name", "device", "output", "recipe", "alarm", "feedback"})
    if (key == name) return true;
  return false;
}

// libstdc++'s regex compiler recurses once per nesting level and copies a sub-expression once per count of {n,m}:
// bound both before std::regex ever sees the pattern. A scan of the text, not a parse: it counts every '(' and
// '[' that is not escaped, so it errs on the side of refusing.
std::string pattern_problem(const std::string& pattern) {
  if (pattern.size() > limits::pattern)
    return "is " + std::to_string(pattern.size()) + " characters long; the limit is " + std::to_string(limits::pattern);
  constexpr long cap = 1'000'000'000;
  // For each open group (the bottom one is the whole pattern): the largest number of copies any element inside it
  // expands to. `last` is that number for the element just read, which a following {n,m} multiplies.
  std::vector<long> open{1};
  long last = 1;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char ch = pattern[i];
    if (in_class) {
      if (ch == '\\') ++i;
      else if (ch == ']') in_class = false;
      continue;
    }
    if (ch == '(') {
      if (static_cast<int>(open.size()) > limits::pattern_nesting)
        return "groups nested deeper than " + std::to_string(limits::pattern_nesting);
      open.push_back(1);
      continue;
    }
    if (ch == ')') {
      if (open.size() > 1) {
        last = open.back();
        open.pop_back();
        open.back() = std::max(open.back(), last);
      }
      continue;
    }
    if (ch == '{') {
      // {n}, {n,} or {n,m}: the largest number counts. Anything else is a literal '{' (or a compile error later).
      long largest = 0, current = 0;
      std::size_t j = i + 1;
      for (; j < pattern.size() && (std::isdigit(static_cast<unsigned char>(pattern[j])) || pattern[j] == ','); ++j) {
        current = pattern[j] == ',' ? 0 : std::min<long>(current * 10 + (pattern[j] - '0'), cap);
        largest = std::max(largest, current);
      }
      if (j > i + 1 && j < pattern.size() && pattern[j] == '}') {
        if (largest > limits::pattern_repeat)
          return "repeat count " + std::to_string(largest) + " is above the limit of " +
                 std::to_string(limits::pattern_repeat);
        last = std::min<long>(std::max<long>(largest, 1) * last, cap);
        if (last > limits::pattern_expansion)
          return "nested repeat counts expand to " + std::to_string(last) + " copies; the limit is " +
                 std::to_string(limits::pattern_expansion);
        open.back() = std::max(open.back(), last);
        i = j;
        continue;
      }
    }
    if (ch == '[') in_class = true;
    if (ch == '\\') ++i;
    last = 1;
  }
  return {};
}

}  // namespace limits

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

std::string TableReader::string(const std::string& key, const std::string& fallback, std::size_t max_length) {
  const toml::node* node = get(key);
  if (!node) return fallback;
  if (!node->is_string()) {
    wrong_type(key, "a string");
    return fallback;
  }
  const std::string& value = node->as_string()->get();
  if (max_length == 0) max_length = limits::is_name_key(key) ? limits::name : limits::text;
  if (value.size() > max_length) {
    error(key, "is " + std::to_string(value.size()) + " characters long; the limit is " + std::to_string(max_length));
    return fallback;
  }
  return value;
}

std::string TableReader::required_string(const std::string& key) {
  if (!table_.contains(key)) {
    used_.insert(key);
    diag_.error(table_.source(), where_ + ": missing required key '" + key + "'");
    return {};
  }
  std::string value = string(key, {});
  const toml::node* node = table_.get(key);
  if (value.empty() && node->is_string() && node->as_string()->get().empty()) error(key, "must not be empty");
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
  std::string pattern = string(key, fallback, limits::pattern);
  if (pattern.empty()) return pattern;
  if (const std::string problem = limits::pattern_problem(pattern); !problem.empty()) {
    error(key, problem);
    return fallback;
  }
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

std::optional<TableReader> TableReader::sub_table(const std::string& key, const std::string& example) {
  consume(key);
  const toml::node* node = table_.get(key);
  if (!node || !node->is_table()) {
    error(key, "must be a table, e.g. " + example);
    return std::nullopt;
  }
  return TableReader(*node->as_table(), where_ + " " + key, diag_);
}

}  // namespace tally
