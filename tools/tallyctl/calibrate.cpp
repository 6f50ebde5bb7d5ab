#include "calibrate.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace tallyctl {

namespace {

using json = nlohmann::json;
constexpr int exit_ok = 0, exit_refused = 1, exit_usage = 2, exit_unavailable = 3;

struct Failed {
  int code;
  std::string why;
};

class Asker {
 public:
  Asker(Session& s, const Options& o, std::string token) : s_(s), o_(o), token_(std::move(token)) {}

  void connect() {
    const auto deadline = Session::Clock::now() + o_.timeout;
    s_.connect(std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(o_.timeout)), false);
    // Both reply topics, as for any command: tallyd answers on B/cmd/reply when it speaks MQTT 3.1.1.
    int subscribed = 0;
    while (subscribed < 2) {
      Event e = next(deadline);
      if (e.kind == Event::Kind::connected) {
        s_.subscribe(reply_topic(), 1);
        s_.subscribe(s_.base() + "/cmd/reply", 2);
      }
      else if (e.kind == Event::Kind::connect_failed) throw Failed{exit_unavailable, "cannot connect to the broker at " + s_.url() + ": " + e.detail};
      else if (e.kind == Event::Kind::subscribed) ++subscribed;
      else if (e.kind == Event::Kind::subscribe_failed) throw Failed{exit_unavailable, "subscription refused: " + e.detail};
      else if (e.kind == Event::Kind::timeout) throw Failed{exit_unavailable, "no connection to the broker at " + s_.url()};
    }
  }

  // One device.raw request; its raw count.
  double raw(const std::string& device) {
    const std::string id = token_ + "-" + std::to_string(++requests_);
    const json request{{"id", id}, {"cmd", "device.raw"}, {"device", device}};
    auto msg = mqtt::make_message(s_.base() + "/cmd", request.dump(), 1, false);
    msg->set_properties({mqtt::property(mqtt::property::RESPONSE_TOPIC, reply_topic()),
                         mqtt::property(mqtt::property::CORRELATION_DATA, id)});
    s_.publish(msg, 10);
    const auto deadline = Session::Clock::now() + o_.timeout;
    while (true) {
      Event e = next(deadline);
      if (e.kind == Event::Kind::timeout)
        throw Failed{exit_unavailable, "no reply from tallyd within the timeout (is it running and connected?)"};
      if (e.kind != Event::Kind::message) continue;
      const json reply = json::parse(e.message->get_payload_str(), nullptr, false);
      if (!reply.is_object() || reply.value("id", json()) != id) continue;
      if (reply.value("ok", false) != true)
        throw Failed{exit_refused, "tallyd: " + reply.value("error", std::string("device.raw failed"))};
      if (!reply.contains("raw") || !reply["raw"].is_number())
        throw Failed{exit_refused, "tallyd's reply has no raw count (a tallyd without device.raw?)"};
      return reply["raw"].get<double>();
    }
  }

  // The median of `n` raw readings, printed as they come.
  double median_raw(const std::string& device, int n) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) {
      v.push_back(raw(device));
      std::printf("  raw %.0f\n", v.back());
      std::fflush(stdout);
    }
    std::sort(v.begin(), v.end());
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  // A line from stdin, while still noticing Ctrl-C (signals arrive as session events).
  std::string line() {
    std::string text;
    while (true) {
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char c;
        const ssize_t n = ::read(STDIN_FILENO, &c, 1);
        if (n <= 0) throw Failed{exit_usage, "standard input ended before the calibration was done"};
        if (c == '\n') return text;
        text += c;
        continue;
      }
      Event e = next(Session::Clock::now());
      (void)e;
    }
  }

 private:
  std::string reply_topic() const { return s_.base() + "/cmd/reply/" + token_; }
  Event next(Session::Clock::time_point deadline) {
    Event e = s_.next(deadline);
    if (e.kind == Event::Kind::signal) throw Failed{128 + e.signal, ""};
    if (e.kind == Event::Kind::lost) throw Failed{exit_unavailable, "lost the connection to the broker: " + e.detail};
    return e;
  }
  Session& s_;
  const Options& o_;
  std::string token_;
  int requests_ = 0;
};

std::optional<double> parse_number(const std::string& text) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace

int run_calibrate(Session& session, const Options& o, const std::string& token) {
  std::string device;
  double mass = 0;  // 0: ask for it
  bool bad_mass = false;
  int readings = 5;
  for (const auto& a : o.args) {
    if (a.rfind("mass=", 0) == 0) {
      const auto m = parse_number(a.substr(5));
      bad_mass = !m || *m == 0;
      mass = m.value_or(0.0);
    }
    else if (a.rfind("readings=", 0) == 0) readings = std::atoi(a.c_str() + 9);
    else if (a.find('=') == std::string::npos && device.empty()) device = a;
    else device.clear(), readings = -1;
  }
  if (device.empty() || readings < 1 || readings > 50 || bad_mass) {
    std::fprintf(stderr, "tallyctl: usage: tallyctl calibrate DEVICE [mass=M] [readings=N] (M not 0, N 1..50)\n");
    return exit_usage;
  }
  Asker ask(session, o, token);
  try {
    ask.connect();
    std::printf("Calibrating %s through tallyd at %s.\n", device.c_str(), session.base().c_str());
    std::printf("1. Take everything off the scale, then press Enter.\n");
    std::fflush(stdout);
    ask.line();
    const double offset = ask.median_raw(device, readings);
    if (mass == 0) {
      std::printf("2. Put a known mass on the scale. Type its mass in the unit to publish (e.g. 500 for grams) "
                  "and press Enter: ");
      std::fflush(stdout);
      while (mass == 0) {
        mass = parse_number(ask.line()).value_or(0.0);
        if (mass == 0) {
          std::printf("   a number other than 0, please: ");
          std::fflush(stdout);
        }
      }
    } else {
      std::printf("2. Put the known mass (%g) on the scale, then press Enter.\n", mass);
      std::fflush(stdout);
      ask.line();
    }
    const double loaded = ask.median_raw(device, readings);
    const double scale = (loaded - offset) / mass;
    if (std::fabs(loaded - offset) < 10)
      throw Failed{exit_refused, "the raw count hardly changed (" + std::to_string(std::llround(offset)) + " -> " +
                                     std::to_string(std::llround(loaded)) + "): is the load cell wired and the mass on it?"};
    std::printf("\nPut these in the [[devices]] table of \"%s\":\noffset = %.0f\nscale = %.6g\n", device.c_str(), offset,
                scale);
    std::printf("(weight = (raw - offset) / scale; a negative scale is fine: the cell is wired the other way round)\n");
    std::fflush(stdout);
    if (!session.close()) std::_Exit(exit_ok);
    return exit_ok;
  } catch (const Failed& f) {
    if (!f.why.empty()) std::fprintf(stderr, "tallyctl: calibrate %s: %s\n", device.c_str(), f.why.c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    if (!session.close()) std::_Exit(f.code);
    return f.code;
  }
}

}  // namespace tallyctl
