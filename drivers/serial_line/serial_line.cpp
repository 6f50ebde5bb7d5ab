#include "serial_line.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "device_error.hpp"
#include "serial/line_splitter.hpp"
#include "serial/read_lines.hpp"
#include "serial/serial_port.hpp"
#include "table_reader.hpp"

namespace tally::serial_line {

namespace {

struct Settings {
  SerialSettings serial;
  std::string pattern;
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

class SerialLine final : public Driver {
 public:
  explicit SerialLine(Settings s) : s_(std::move(s)) {
    if (!s_.pattern.empty()) pattern_.emplace(s_.pattern, std::regex::ECMAScript | std::regex::optimize);
  }
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
          const auto value = parse_value(line, pattern_ ? &*pattern_ : nullptr);
          if (!value) return sink.dropped("no value in line");
          sink.reading(Reading::measured(s_.quantity, *value, s_.unit, ts));
        },
        [&] { sink.dropped("line too long"); });
  }


 private:
  Settings s_;
  std::optional<std::regex> pattern_;
  unique_fd port_;
  LineSplitter splitter_;
};

}  // namespace

std::optional<double> parse_value(std::string_view line, const std::regex* pattern) {
  if (pattern) {
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(line.begin(), line.end(), m, *pattern) || m.size() < 2 || !m[1].matched)
      return std::nullopt;
    return to_number(std::string_view(&*m[1].first, static_cast<std::size_t>(m[1].length())));
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
  s.pattern = keys.regex("pattern", "");
  if (!s.pattern.empty()) {
    if (std::regex(s.pattern).mark_count() < 1) keys.error("pattern", "needs a capture group: group 1 is the number");
  }
  s.quantity = keys.string("quantity", "value");
  s.unit = keys.string("unit", "");
  return [s] { return std::make_unique<SerialLine>(s); };
}

}  // namespace tally::serial_line
