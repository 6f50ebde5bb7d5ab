#include "args.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace tallyctl {

namespace {

std::chrono::milliseconds parse_timeout(const std::string& text) {
  char* end = nullptr;
  const double s = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(s) || s <= 0 || s > 86'400)
    throw UsageError("--timeout needs a number of seconds greater than 0 (got '" + text + "')");
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(s * 1000)));
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_command = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    // "--name VALUE" or "--name=VALUE"
    auto option = [&](const char* name) -> std::optional<std::string> {
      const std::string n = name;
      if (arg == n) {
        if (i + 1 >= argc) throw UsageError(n + " needs a value");
        return std::string(argv[++i]);
      }
      if (arg.rfind(n + "=", 0) == 0) return arg.substr(n.size() + 1);
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "--version") {
      o.version = true;
    } else if (auto v = option("--config")) {
      o.config = *v;
      o.config_given = true;
    } else if (auto v = option("--url")) {
      if (v->empty()) throw UsageError("--url needs a broker URL (tcp://host:1883, ssl://host:8883)");
      o.url = *v;
    } else if (auto v = option("--base")) {
      if (v->empty() || v->front() == '/' || v->back() == '/' || v->find_first_of("+#") != std::string::npos)
        throw UsageError("--base needs a topic like tally/bench-1 (no '+', '#', leading or trailing '/')");
      o.base = *v;
    } else if (auto v = option("--timeout")) {
      o.timeout = parse_timeout(*v);
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError("unknown option '" + arg + "'");
    } else if (!have_command) {
      if (arg.find('=') != std::string::npos) throw UsageError("expected a command before '" + arg + "'");
      o.command = arg;
      have_command = true;
    } else {
      o.args.push_back(arg);
    }
  }
  if (!o.help && !o.version && !have_command) throw UsageError("no command given");
  if (o.command == "watch") {
    if (o.args.size() > 1) throw UsageError("watch takes at most one topic filter");
    if (o.args.size() == 1 && !valid_filter(o.args[0]))
      throw UsageError("'" + o.args[0] + "' is not a valid MQTT topic filter");
  }
  return o;
}

nlohmann::json typed_value(std::string_view text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front())) ||
      std::isspace(static_cast<unsigned char>(text.back())))
    return std::string(text);
  auto v = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (v.is_boolean() || (v.is_number() && std::isfinite(v.get<double>()))) return v;
  return std::string(text);
}

nlohmann::json build_request(const std::string& id, const std::string& command, const std::vector<std::string>& args) {
  nlohmann::json request = {{"id", id}, {"cmd", command}};
  for (const auto& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos)
      throw UsageError("argument '" + arg + "' is not key=value (or key:=json)");
    const bool raw = eq > 0 && arg[eq - 1] == ':';
    const std::string key = arg.substr(0, raw ? eq - 1 : eq);
    const std::string value = arg.substr(eq + 1);
    if (key.empty()) throw UsageError("argument '" + arg + "' has no key");
    if (key == "id" || key == "cmd") throw UsageError("'" + key + "' is set by tallyctl itself");
    if (request.contains(key)) throw UsageError("'" + key + "' is given twice");
    if (raw) {
      auto v = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (v.is_discarded()) throw UsageError("'" + key + ":=' needs valid JSON (got '" + value + "')");
      request[key] = std::move(v);
    } else {
      request[key] = typed_value(value);
    }
  }
  return request;
}

bool valid_filter(std::string_view filter) {
  if (filter.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const auto slash = filter.find('/', start);
    const auto level = filter.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    const bool last = slash == std::string_view::npos;
    if (level.find_first_of("+#") != std::string_view::npos) {
      if (level.size() != 1) return false;
      if (level == "#" && !last) return false;
    }
    if (last) return true;
    start = slash + 1;
  }
}

}  // namespace tallyctl
