#include "iio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "device_error.hpp"
#include "small_file.hpp"
#include "table_reader.hpp"
#include "unique_fd.hpp"

namespace tally::iio {

namespace {

// A sysfs attribute as text, or the errno reading it failed with (0 when read). Never blocks (small_file.hpp): a
// path that is a FIFO or a device node instead of a sysfs file is an error, not a wait.
using Attribute = SmallFile;
Attribute read_attribute(const std::string& file) { return read_small_file(file); }

// The largest magnitude an IIO attribute can hold: the kernel formats values from 32- and 64-bit integers
// (iio_format_value(): IIO_VAL_INT, IIO_VAL_INT_64, IIO_VAL_INT_PLUS_MICRO/NANO, IIO_VAL_FRACTIONAL), so anything
// beyond 2^63 (5e304, "inf", a 300-digit string) is not a value the sensor gave.
constexpr double kMaxIioValue = 9223372036854775808.0;

// A number as the kernel prints it; `out_of_range` when it is a number no IIO attribute can hold.
struct Number {
  std::optional<double> value;
  bool out_of_range = false;
};
Number number(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin) return {};
  const bool range = errno == ERANGE || !std::isfinite(v) || std::fabs(v) > kMaxIioValue;
  while (*end == '\n' || *end == ' ') ++end;
  if (*end != '\0') return {};
  if (range) return {std::nullopt, true};
  return {v, false};
}

bool exists(const std::string& file) { return ::access(file.c_str(), F_OK) == 0; }

class Iio final : public Driver {
 public:
  explicit Iio(Settings s) : s_(std::move(s)) {}

  void open() override {
    dir_ = s_.path;
    if (dir_.empty()) {
      dir_ = find_by_name(s_.devices_dir, s_.iio_name);
      if (dir_.empty()) throw device_error(ENOENT, "no IIO device named \"" + s_.iio_name + "\" in " + s_.devices_dir);
    }
    raw_ = dir_ + "/" + s_.channel + "_raw";
    if (!exists(raw_)) {
      // Some drivers offer only the processed value.
      if (exists(dir_ + "/" + s_.channel + "_input")) raw_ = dir_ + "/" + s_.channel + "_input", processed_ = true;
      else throw device_error(ENOENT, raw_ + " (no channel " + s_.channel + " in " + dir_ + ")");
    }
    // Offset and scale may be per channel (in_voltage0_scale) or shared by the type (in_voltage_scale).
    const std::string shared = shared_prefix(s_.channel);
    for (const auto& name : {s_.channel, shared}) {
      if (scale_file_.empty() && exists(dir_ + "/" + name + "_scale")) scale_file_ = dir_ + "/" + name + "_scale";
      if (offset_file_.empty() && exists(dir_ + "/" + name + "_offset")) offset_file_ = dir_ + "/" + name + "_offset";
    }
  }
  void close() noexcept override { dir_.clear(); }
  std::chrono::milliseconds poll_interval() const noexcept override { return s_.poll; }

  void collect(InputSink& sink) override {
    const Attribute raw = read_attribute(raw_);
    if (raw.error == EINVAL) {
      // The kernel's way of saying the sensor is faulty (maxim_thermocouple folds every thermocouple fault into
      // EINVAL; hx711 when DOUT never goes low): a fault reading, the device itself is there.
      return sink.reading(Reading::faulted(s_.quantity, s_.unit, "sensor-fault"));
    }
    if (raw.error == ENOTSUP) throw device_error(ENOTSUP, raw_ + ": not a regular file (a FIFO or device node?), not an IIO attribute");
    if (raw.error) throw device_error(raw.error, raw_);
    // A value cut short is no value: an attribute longer than a page is not one the kernel wrote.
    if (raw.too_long) return fault(sink, "attribute-too-long", raw_ + " holds more than 4096 bytes");
    const Number value = number(raw.text);
    if (value.out_of_range) return fault(sink, "out-of-range", raw_ + " holds a value beyond any IIO value");
    if (!value.value) return sink.dropped("not a number in " + raw_);
    if (s_.calibration_scale) {
      last_raw_ = *value.value;
      answer_raw();
      return publish(sink, (*value.value - s_.calibration_offset) / *s_.calibration_scale);
    }
    double offset = 0, scale = 1;
    if (!processed_) {
      if (!attribute(offset_file_, offset, sink) || !attribute(scale_file_, scale, sink)) return;
    }
    last_raw_ = *value.value;
    answer_raw();
    publish(sink, (*value.value + offset) * scale * factor_);
  }

  bool start_command(std::string_view name, CommandDone done) override {
    if (name != "raw") return false;
    raw_request_ = std::move(done);
    return true;
  }
  void cancel_command() noexcept override { raw_request_ = nullptr; }

  void set_factor(double f) { factor_ = f; }

 private:
  // Reads an optional offset/scale attribute (the file is re-read each time: the kernel hx711's scale changes
  // with its gain). False when it could not be used (a drop was reported); throws when it is unreadable.
  bool attribute(const std::string& file, double& out, InputSink& sink) {
    if (file.empty()) return true;
    const Attribute a = read_attribute(file);
    if (a.error) throw device_error(a.error, file);
    if (a.too_long) return fault(sink, "attribute-too-long", file + " holds more than 4096 bytes"), false;
    const Number v = number(a.text);
    if (v.out_of_range) return fault(sink, "out-of-range", file + " holds a value beyond any IIO value"), false;
    if (!v.value) {
      sink.dropped("not a number in " + file);
      return false;
    }
    out = *v.value;
    return true;
  }
  // A fault reading: value null, `what` names the fault (`detail` is for the reader of this code: which file).
  void fault(InputSink& sink, const std::string& what, const std::string& /*detail*/) {
    sink.reading(Reading::faulted(s_.quantity, s_.unit, what));
  }
  // A result that does not fit a double (raw, offset and scale each in range, a calibration scale near 0) is a
  // fault, never a reading whose value the JSON writer would turn into null.
  void publish(InputSink& sink, double v) {
    if (!std::isfinite(v)) return fault(sink, "out-of-range", raw_ + ": the converted value overflows");
    sink.reading(Reading::measured(s_.quantity, v, s_.unit));
  }
  void answer_raw() {
    if (auto done = std::exchange(raw_request_, nullptr)) done(true, std::to_string(std::llround(last_raw_)));
  }

  Settings s_;
  std::string dir_, raw_, scale_file_, offset_file_;
  bool processed_ = false;
  double factor_ = 1;
  double last_raw_ = 0;
  CommandDone raw_request_;
};

}  // namespace

Unit unit_of(const std::string& channel) {
  const std::string type = shared_prefix(channel);
  const auto kind = type.substr(type.find('_') + 1);
  // Documentation/ABI/testing/sysfs-bus-iio: the unit of each type after offset and scale.
  if (kind == "temp") return {"temperature", "degC", 0.001};           // milli degrees Celsius
  if (kind == "voltage") return {"voltage", "V", 0.001};               // millivolts
  if (kind == "current") return {"current", "A", 0.001};               // milliamps
  if (kind == "power") return {"power", "W", 0.001};                   // milliwatts
  if (kind == "humidityrelative") return {"humidity", "%RH", 0.001};   // milli percent
  if (kind == "pressure") return {"pressure", "kPa", 1};               // kilopascal
  if (kind == "illuminance") return {"illuminance", "lx", 1};
  if (kind == "resistance") return {"resistance", "ohm", 1};
  if (kind == "accel") return {"acceleration", "m/s^2", 1};
  return {kind, "", 1};
}

std::string shared_prefix(const std::string& channel) {
  // in_<type>[<index>][_<modifier>]: the type ends at the first digit or at the second '_'.
  const auto start = channel.find('_');
  if (start == std::string::npos) return channel;
  std::size_t end = start + 1;
  while (end < channel.size() && channel[end] != '_' && !std::isdigit(static_cast<unsigned char>(channel[end]))) ++end;
  return channel.substr(0, end);
}

std::string find_by_name(const std::string& devices_dir, const std::string& iio_name) {
  DIR* dir = ::opendir(devices_dir.c_str());
  if (!dir) return "";
  std::string found;
  while (const dirent* e = ::readdir(dir)) {
    if (std::strncmp(e->d_name, "iio:device", 10) != 0) continue;
    const std::string path = devices_dir + "/" + e->d_name;
    std::string name = read_attribute(path + "/name").text;
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (name == iio_name && (found.empty() || path < found)) found = path;
  }
  ::closedir(dir);
  return found;
}

std::unique_ptr<Driver> make(Settings s) {
  const Unit u = unit_of(s.channel);
  const bool converted = !s.calibration_scale;
  if (s.quantity.empty()) s.quantity = converted ? u.quantity : "mass";
  if (s.unit.empty() && converted) s.unit = u.unit;
  auto d = std::make_unique<Iio>(s);
  if (converted) d->set_factor(u.factor);
  return d;
}

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.path = keys.string("path", "");
  s.iio_name = keys.string("iio_name", "");
  if (s.path.empty() == s.iio_name.empty())
    keys.error(s.path.empty() ? "path" : "iio_name", "give exactly one of path (the iio:deviceN directory) and iio_name");
  s.channel = keys.string("channel", "in_voltage0");
  if (s.channel.rfind("in_", 0) != 0 || s.channel.find('/') != std::string::npos)
    keys.error("channel", "must be an input channel's attribute prefix, e.g. \"in_temp\" or \"in_voltage0\"");
  s.quantity = keys.string("quantity", "");
  s.unit = keys.string("unit", "");
  if (keys.has("scale")) {
    s.calibration_scale = keys.number("scale", 1, -1e12, 1e12);
    if (*s.calibration_scale == 0) keys.error("scale", "must not be 0 (raw counts per unit; see tallyctl calibrate)");
  }
  s.calibration_offset = keys.number("offset", 0, -1e12, 1e12);
  if (keys.has("offset") && !keys.has("scale")) keys.error("offset", "goes with scale (a calibration in raw counts)");
  s.poll = std::chrono::milliseconds(keys.integer("poll_ms", 1000, 10, 86'400'000));
  return [s] { return make(s); };
}

}  // namespace tally::iio
