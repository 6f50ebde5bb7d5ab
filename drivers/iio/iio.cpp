#include "iio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "device_error.hpp"
#include "table_reader.hpp"
#include "unique_fd.hpp"

namespace tally::iio {

namespace {

// A sysfs attribute as text, or the errno reading it failed with (0 when read).
struct Attribute {
  std::string text;
  int error = 0;
};
Attribute read_attribute(const std::string& file) {
  unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {"", errno};
  char buf[128];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n < 0) return {"", errno};
  return {std::string(buf, static_cast<std::size_t>(n)), 0};
}

std::optional<double> number(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  while (*end == '\n' || *end == ' ') ++end;
  if (*end != '\0') return std::nullopt;
  return v;
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
    if (raw.error) throw device_error(raw.error, raw_);
    const auto value = number(raw.text);
    if (!value) return sink.dropped("not a number in " + raw_);
    if (s_.calibration_scale) {
      last_raw_ = *value;
      answer_raw();
      return sink.reading(Reading::measured(s_.quantity, (*value - s_.calibration_offset) / *s_.calibration_scale, s_.unit));
    }
    double offset = 0, scale = 1;
    if (!processed_) {
      if (!attribute(offset_file_, offset, sink) || !attribute(scale_file_, scale, sink)) return;
    }
    last_raw_ = *value;
    answer_raw();
    sink.reading(Reading::measured(s_.quantity, (*value + offset) * scale * factor_, s_.unit));
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
    const auto v = number(a.text);
    if (!v) {
      sink.dropped("not a number in " + file);
      return false;
    }
    out = *v;
    return true;
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
