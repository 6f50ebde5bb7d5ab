#pragma once
// Reads one TOML table's keys with types, defaults and limits, collecting EVERY problem with its position instead of
// stopping at the first. Keys that nobody asked for are reported as unknown by finish(): a typo never passes quietly.
#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tally {

// Collected problems, each "PATH:LINE:COLUMN: message" (or "PATH: message").
class Diagnostics {
 public:
  explicit Diagnostics(std::string path) : path_(std::move(path)) {}
  void error(const toml::source_region& where, const std::string& message);
  void error(const std::string& message);  // no position
  const std::vector<std::string>& problems() const { return problems_; }
  bool empty() const { return problems_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> problems_;
};

// Length and complexity limits (PRODUCT.md: ids and names 64 characters, URLs and paths 4,096, patterns 1,024 and
// of bounded nesting). Checked by TableReader before any other check sees the value, so that nothing (a regex over
// a 40,000-character id, std::regex compiling a pattern nested 20,000 deep) can recurse over an unbounded input.
namespace limits {
constexpr std::size_t name = 64;        // ids and names: keys listed in is_name_key()
constexpr std::size_t text = 4096;      // every other string: URLs, paths, units, labels
constexpr std::size_t pattern = 1024;   // regular expressions
constexpr int pattern_nesting = 16;     // groups inside groups
constexpr long pattern_repeat = 1000;   // the largest {n,m} count
constexpr long pattern_expansion = 10000;  // product of nested {n,m} counts (libstdc++ copies the NFA per count)
bool is_name_key(const std::string& key);  // "id", "name", "device", "output", "recipe", "alarm", "feedback"
// Why `pattern` is too complex to compile safely, or an empty string. Pure; does not compile it.
std::string pattern_problem(const std::string& pattern);
}  // namespace limits

class TableReader {
 public:
  // `where` names the table in messages, e.g. "[mqtt]" or "devices[2] (kettle)".
  TableReader(const toml::table& table, std::string where, Diagnostics& diag);

  // A string of at most `max_length` bytes (default: limits::name for name keys, else limits::text); a longer one is
  // reported and `fallback` returned.
  std::string string(const std::string& key, const std::string& fallback, std::size_t max_length = 0);
  std::string required_string(const std::string& key);
  // One of `allowed`; anything else is an error listing them.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& allowed);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  // Accepts integers too (TOML `3200` for a float key is what a person writes).
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key, bool fallback);
  // A regular expression: length and complexity limited (limits::pattern*), then compiled here so a bad one is
  // reported with its position.
  std::string regex(const std::string& key, const std::string& fallback);

  bool has(const std::string& key) const { return table_.contains(key); }
  // Reports a problem at `key`'s value (or at the table when the key is absent).
  void error(const std::string& key, const std::string& message);
  const toml::table& table() const { return table_; }
  const std::string& where() const { return where_; }
  Diagnostics& diagnostics() { return diag_; }
  // An inline sub-table such as `fake = { ... }`, consumed here and read by its own reader (whose finish() reports
  // its unknown keys); nullopt, reported as "must be a table, e.g. EXAMPLE", when `key` holds something else.
  std::optional<TableReader> sub_table(const std::string& key, const std::string& example);
  // Marks keys as handled elsewhere (e.g. sub-tables read by another reader).
  void consume(const std::string& key) { used_.insert(key); }
  // Reports every key that was never read.
  void finish();

 private:
  const toml::node* get(const std::string& key);
  void wrong_type(const std::string& key, const char* expected);
  const toml::table& table_;
  std::string where_;
  Diagnostics& diag_;
  std::set<std::string> used_;
};

}  // namespace tally
