#pragma once
// Command-line options of one subcommand: `--name value`, `--name=value` and value-less flags. Each subcommand
// declares its options (with defaults and help) so usage text and parsing stay in one place.
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace tally::emu {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct HelpRequested {};

struct OptionSpec {
  std::string name;           // without the leading "--"
  std::string value_name;     // empty: a flag without a value
  std::string default_value;  // shown in the help; empty: no default
  std::string help;
};

class Options {
 public:
  // Throws UsageError for unknown options or missing values, HelpRequested for -h/--help.
  Options(std::vector<OptionSpec> specs, std::span<char* const> args);

  bool given(const std::string& name) const;  // on the command line (not only by default)
  bool flag(const std::string& name) const;
  std::string text(const std::string& name) const;  // value or default; UsageError if neither
  long long integer(const std::string& name, long long min, long long max) const;
  double number(const std::string& name) const;

  static std::string help(const std::vector<OptionSpec>& specs);

 private:
  const OptionSpec& spec(const std::string& name) const;
  std::vector<OptionSpec> specs_;
  std::vector<std::pair<std::string, std::string>> values_;
};

}  // namespace tally::emu
