#include "serial_line.hpp"

#include <re2/re2.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "device_error.hpp"
#include "serial/line_splitter.hpp"
#include "serial/read_lines.hpp"
#include "serial/serial_port.hpp"
#include "table_reader.hpp"

namespace tally::serial_line {

namespace {

struct Settings {
  SerialSettings serial;
  std::shared_ptr<const re2::RE2> pattern;  // null: the first number in the line; immutable, shared by copies
  std::string quantity;
  std::string unit;
};

// strtod on a string_view that is not NUL-terminated; the whole text must be the number.
std::optional<double> to_number(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  // "nan" and "inf" parse, but no instrument measures them: a line saying so has no value.
  if (end == s.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// What someone used to ECMAScript or PCRE needs to hear when RE2 refuses their pattern.
std::string hint(const re2::RE2& re) {
  const std::string& arg = re.error_arg();
  if (re.error_code() == re2::RE2::ErrorBadEscape && arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9')
    return " (backreferences are not supported: patterns are RE2 syntax, which matches in linear time)";
  if (re.error_code() == re2::RE2::ErrorBadPerlOp && (arg == "(?=" || arg == "(?!"))
    return " (lookahead is not supported: patterns are RE2 syntax)";
  if (re.error_code() == re2::RE2::ErrorBadPerlOp && arg == "(?<")
    return " (lookbehind is not supported: patterns are RE2 syntax; a named group is written (?P<name>...))";
  return {};
}

class SerialLine final : public Driver {
 public:
  explicit SerialLine(Settings s) : s_(std::move(s)) {}
  void open() override {
    port_ = open_serial(s_.serial);
    splitter_.reset();
  }
  void close() noexcept override { port_.reset(); }
  int fd() const noexcept override { return port_.get(); }

  void collect(InputSink& sink) override {
    read_lines(
        port_.get(), s_.serial.port, splitter_,
        [&](std::string_view line, wall_time ts) {
          if (!printable_line(line)) return sink.dropped("noise");
          const auto value = parse_value(line, s_.pattern.get());
          if (!value) return sink.dropped("no value in line");
          sink.reading(Reading::measured(s_.quantity, *value, s_.unit, ts));
        },
        [&] { sink.dropped("line too long"); });
  }


 private:
  Settings s_;
  unique_fd port_;
  LineSplitter splitter_;
};

}  // namespace

std::optional<double> parse_value(std::string_view line, const std::regex* pattern) {
  if (!pattern) return parse_value(line, static_cast<const re2::RE2*>(nullptr));
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(line.begin(), line.end(), m, *pattern) || m.size() < 2 || !m[1].matched)
    return std::nullopt;
  return to_number(std::string_view(&*m[1].first, static_cast<std::size_t>(m[1].length())));
}

std::optional<double> parse_value(std::string_view line, const re2::RE2* pattern) {
  if (pattern) {
    re2::StringPiece m[2];
    if (!pattern->Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), re2::RE2::UNANCHORED, m, 2) ||
        m[1].data() == nullptr)  // group 1 took no part in the match
      return std::nullopt;
    return to_number(std::string_view(m[1].data(), m[1].size()));
  }
  // The first number: optional sign, digits, optional fraction, optional exponent.
  for (std::size_t i = 0; i < line.size(); ++i) {
    std::size_t j = i;
    if (line[j] == '-' || line[j] == '+') ++j;
    const std::size_t int_start = j;
    while (j < line.size() && digit(line[j])) ++j;
    bool have_digits = j > int_start;
    if (j < line.size() && line[j] == '.') {
      const std::size_t frac_start = ++j;
      while (j < line.size() && digit(line[j])) ++j;
      have_digits = have_digits || j > frac_start;
      if (j == frac_start && !have_digits) continue;
    }
    if (!have_digits) continue;
    if (j < line.size() && (line[j] == 'e' || line[j] == 'E')) {
      std::size_t k = j + 1;
      if (k < line.size() && (line[k] == '-' || line[k] == '+')) ++k;
      const std::size_t exp_start = k;
      while (k < line.size() && digit(line[k])) ++k;
      if (k > exp_start) j = k;  // "5E" alone is 5 followed by a letter
    }
    return to_number(line.substr(i, j - i));
  }
  return std::nullopt;
}

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.serial = read_serial_settings(keys);
  // Not keys.regex(): that one checks ECMAScript syntax with std::regex, and the pattern is RE2's. The length and
  // complexity limits are the same for every pattern (limits::pattern_problem).
  const std::string pattern = keys.string("pattern", "", limits::pattern);
  if (!pattern.empty()) {
    if (const std::string problem = limits::pattern_problem(pattern); !problem.empty()) {
      keys.error("pattern", problem);
    } else {
      re2::RE2::Options options;
      options.set_log_errors(false);  // reported below, with the position of the key
      auto re = std::make_shared<const re2::RE2>(pattern, options);
      if (!re->ok())
        keys.error("pattern", "invalid regular expression: " + re->error() + hint(*re));
      else if (re->NumberOfCapturingGroups() < 1)
        keys.error("pattern", "needs a capture group: group 1 is the number");
      else
        s.pattern = std::move(re);
    }
  }
  s.quantity = keys.string("quantity", "value");
  s.unit = keys.string("unit", "");
  return [s] { return std::make_unique<SerialLine>(s); };
}

}  // namespace tally::serial_line
