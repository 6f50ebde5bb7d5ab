#include "options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace tally::emu {

Options::Options(std::vector<OptionSpec> specs, std::span<char* const> args) : specs_(std::move(specs)) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "-h" || arg == "--help") throw HelpRequested{};
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      inline_value = true;
    }
    const OptionSpec& s = spec(name);
    if (s.value_name.empty()) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      value = "1";
    } else if (!inline_value) {
      if (i + 1 >= args.size()) throw UsageError("--" + name + " needs a value (" + s.value_name + ")");
      value = args[++i];
    }
    values_.emplace_back(name, value);
  }
}

const OptionSpec& Options::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw UsageError("unknown option --" + name);
}

bool Options::given(const std::string& name) const {
  spec(name);
  for (const auto& [n, v] : values_)
    if (n == name) return true;
  return false;
}

bool Options::flag(const std::string& name) const { return given(name); }

std::string Options::text(const std::string& name) const {
  const OptionSpec& s = spec(name);
  std::string found;
  bool have = false;
  for (const auto& [n, v] : values_)
    if (n == name) {
      found = v;  // the last one wins
      have = true;
    }
  if (have) return found;
  if (!s.default_value.empty()) return s.default_value;
  throw UsageError("--" + name + " is required");
}

long long Options::integer(const std::string& name, long long min, long long max) const {
  const std::string v = text(name);
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < min || n > max)
    throw UsageError("--" + name + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                     "], not '" + v + "'");
  return n;
}

double Options::number(const std::string& name) const {
  const std::string v = text(name);
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(d))
    throw UsageError("--" + name + " must be a number, not '" + v + "'");
  return d;
}

std::string Options::help(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    std::string left = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (left.size() < 26) left.resize(26, ' ');
    else left += "\n" + std::string(26, ' ');
    out += left + s.help;
    if (!s.default_value.empty()) out += " (default: " + s.default_value + ")";
    out += "\n";
  }
  return out;
}

}  // namespace tally::emu
