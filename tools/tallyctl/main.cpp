// tallyctl: the command-line companion of tallyd. Sends a command to a station over MQTT 5 (request/response with a
// response topic and correlation data) and prints the reply, or watches the station's topics. See README.md.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "args.hpp"
#include "calibrate.hpp"
#include "config/sections.hpp"
#include "config/config_error.hpp"
#include "session.hpp"
#include "buffer_info.hpp"
#include "version.hpp"

namespace {

using namespace tallyctl;
using json = nlohmann::json;

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;      // tallyd answered "ok": false
constexpr int exit_usage = 2;
constexpr int exit_unavailable = 3;  // broker unreachable, refused us, or no reply in time
constexpr int exit_software = 70;    // EX_SOFTWARE: a bug or the system failing under us
constexpr int exit_config = 78;      // EX_CONFIG

void usage(std::FILE* to) {
  std::fprintf(to,
R"(usage: tallyctl [OPTIONS] COMMAND [key=value | key:=json ...]
       tallyctl [OPTIONS] watch [FILTER]
       tallyctl [OPTIONS] buffer [PATH]
Sends COMMAND to the station's tallyd over MQTT and prints its reply, or prints the station's messages live.

options (before or after the command):
  --config PATH   the station's configuration (default /etc/tally/tally.toml): broker URL, credentials, TLS
                  files and base topic <prefix>/<station id>, exactly as tallyd uses them
  --url URL       use this broker instead (tcp://host:1883, ssl://host:8883, mqtt://, mqtts://)
  --base TOPIC    use this base topic instead (e.g. tally/bench-1)
  --timeout S     seconds to wait for the connection and the reply (default 10; fractions allowed)
  --version, -h/--help

commands (arguments as key=value):
  batch.start batch= recipe=     step.next          batch.end [outcome=] [note=]
  work_order.start work_order= [target=]            work_order.end
  unit.add [serial=]             unit.reject [reason=]
  operator.set operator=         lot.record lot=    alarm.ack alarm= [by=]
  scale.tare device=             scale.zero device=                  status
  device.raw device=             (the next reading in raw counts: hx711, iio)

  calibrate DEVICE [mass=M] [readings=N]
              guides you through zero (empty) and a known mass M on a load cell, and prints the offset and scale
              for its [[devices]] table (asks tallyd for N raw readings per step, default 5)

  key=value   the value is sent as a JSON number or boolean when it is exactly one (40, 2.5, -3, true), else as
              a string (SN-0001, 0012, "hello world"); key:=json sends raw JSON (serial:='"1234"', tags:='["a"]')

  watch [FILTER]  prints "topic payload" lines for <base>/# (or FILTER, a full MQTT topic filter) until Ctrl-C
  buffer [PATH]   what the buffer holds (depth, seq range, oldest record, size), read from the database file
                  ([buffer] path of the configuration, or PATH) without the broker; safe while tallyd runs

examples:
  tallyctl batch.start batch=B-1042 recipe=lavender-soap
  tallyctl unit.add serial=SN-0001
  tallyctl scale.tare device=bench-scale
  tallyctl status
  tallyctl watch 'tally/bench-1/readings/#'

exit status: 0 the reply says "ok": true; 1 it says "ok": false; 2 usage error; 3 broker unreachable, refused,
or no reply within the timeout; 78 configuration error; 70 internal error.
)");
}

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

std::string random_hex(std::size_t digits) {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < digits; ++i) out += hex[gen() % 16];
  return out;
}

// Prints, then leaves the session. If Paho is still connecting (a broker that does not answer), destroying the
// client could crash (Paho #453): then exit at once, output flushed.
int finish(Session& session, int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (!session.close()) std::_Exit(code);
  return code;
}

void error(const std::string& text) { std::fprintf(stderr, "tallyctl: %s\n", text.c_str()); }

// The broker and base topic: the configuration's, with --url/--base on top. The configuration is skipped only when
// both --url and --base are given, --config is not, and the default file does not exist.
std::optional<Target> resolve_target(const Options& o, int& code) {
  Target t;
  struct stat st{};
  const bool need_config = o.config_given || !o.url || !o.base || ::stat(o.config.c_str(), &st) == 0;
  if (need_config) {
    try {
      const tally::Config config = tally::load_connection_config(o.config);
      t.mqtt = config.mqtt;
      t.base = config.base_topic();
    } catch (const tally::config_error& e) {
      for (const auto& p : e.problems) std::fprintf(stderr, "%s\n", p.c_str());
      code = exit_config;
      return std::nullopt;
    }
  }
  if (o.url) t.mqtt.url = *o.url;
  if (o.base) t.base = *o.base;
  return t;
}

std::chrono::seconds connect_timeout(std::chrono::milliseconds total) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(total));
}

int run_command(Session& s, const Options& o, const std::string& token) {
  const auto deadline = Session::Clock::now() + o.timeout;
  const std::string command_topic = s.base() + "/cmd";
  const std::string response_topic = s.base() + "/cmd/reply/" + token;
  const std::string shared_reply_topic = s.base() + "/cmd/reply";  // where tallyd answers a request without one
  const std::string id = token;
  const json request = build_request(id, o.command, o.args);  // validated before connecting (UsageError)

  enum Tag { response_sub = 1, shared_sub = 2, request_pub = 3 };
  bool subscribed = false, published = false, acknowledged = false;
  int pending_subs = 2;

  s.connect(connect_timeout(o.timeout), false);
  while (true) {
    Event e = s.next(deadline);
    switch (e.kind) {
      case Event::Kind::connected:
        // Both reply topics BEFORE the request goes out, so no reply can be missed.
        s.subscribe(response_topic, response_sub);
        s.subscribe(shared_reply_topic, shared_sub);
        break;
      case Event::Kind::connect_failed:
        error("cannot connect to the broker at " + s.url() + ": " + e.detail);
        return finish(s, exit_unavailable);
      case Event::Kind::lost:
        error("lost the connection to the broker at " + s.url() + " before the reply: " + e.detail);
        return finish(s, exit_unavailable);
      case Event::Kind::subscribed:
      case Event::Kind::subscribe_failed:
        if (e.kind == Event::Kind::subscribe_failed && e.tag == response_sub) {
          error("the broker at " + s.url() + " refused the subscription to " + response_topic + ": " + e.detail);
          return finish(s, exit_unavailable);
        }
        // The shared reply topic is only a fallback (for a tallyd that ignores response topics): not fatal.
        if (e.tag == response_sub) subscribed = true;
        if (--pending_subs == 0 && subscribed && !published) {
          mqtt::properties props{mqtt::property(mqtt::property::RESPONSE_TOPIC, response_topic),
                                 mqtt::property(mqtt::property::CORRELATION_DATA, id)};
          auto msg = mqtt::make_message(command_topic, request.dump(), 1, false);
          msg->set_properties(std::move(props));
          s.publish(msg, request_pub);
          published = true;
        }
        break;
      case Event::Kind::delivered:
        acknowledged = true;
        break;
      case Event::Kind::delivery_failed:
        error("the broker at " + s.url() + " did not accept the command on " + command_topic + ": " + e.detail);
        return finish(s, exit_unavailable);
      case Event::Kind::message: {
        const auto& m = *e.message;
        const auto& props = m.get_properties();
        if (props.contains(mqtt::property::CORRELATION_DATA) &&
            mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA) != id)
          break;  // someone else's reply
        json reply = json::parse(m.get_payload_str(), nullptr, /*allow_exceptions=*/false);
        if (!reply.is_object() || !reply.contains("id") || reply["id"] != id) {
          if (m.get_topic() == response_topic)
            error("ignoring a message on " + response_topic + " that is not the reply to " + id);
          break;
        }
        std::printf("%s\n", reply.dump(2, ' ', false, json::error_handler_t::replace).c_str());
        const bool ok = reply.contains("ok") && reply["ok"] == true;
        if (!ok) {
          const std::string why = reply.contains("error") && reply["error"].is_string()
                                      ? reply["error"].get<std::string>()
                                      : "the reply does not say \"ok\": true";
          error(o.command + " failed: " + why);
        }
        return finish(s, ok ? exit_ok : exit_refused);
      }
      case Event::Kind::signal:
        return finish(s, 128 + e.signal);
      case Event::Kind::timeout:
        if (!published)
          error("no connection to the broker at " + s.url() + " within " + seconds_text(o.timeout));
        else if (!acknowledged)
          error("the broker at " + s.url() + " did not acknowledge the command on " + command_topic + " within " +
                seconds_text(o.timeout));
        else
          error("no reply to " + o.command + " within " + seconds_text(o.timeout) + " (sent to " + command_topic +
                " via " + s.url() + "; is tallyd for this station running and connected?)");
        return finish(s, exit_unavailable);
    }
  }
}

int run_watch(Session& s, const Options& o) {
  const std::string filter = o.args.empty() ? s.base() + "/#" : o.args[0];
  const auto deadline = Session::Clock::now() + o.timeout;
  bool ever_connected = false, watching = false;
  s.connect(connect_timeout(o.timeout), true);
  while (true) {
    Event e = s.next(ever_connected ? std::nullopt : std::optional(deadline));
    switch (e.kind) {
      case Event::Kind::connected:
        if (ever_connected) error("reconnected to " + s.url());
        ever_connected = true;
        s.subscribe(filter, 1);  // again after every reconnect: each connection starts a clean session
        break;
      case Event::Kind::connect_failed:
        error("cannot connect to the broker at " + s.url() + ": " + e.detail);
        return finish(s, exit_unavailable);
      case Event::Kind::timeout:
        error("no connection to the broker at " + s.url() + " within " + seconds_text(o.timeout));
        return finish(s, exit_unavailable);
      case Event::Kind::lost:
        error("connection to " + s.url() + " lost (" + e.detail + "); reconnecting");
        break;
      case Event::Kind::subscribed:
        if (!watching) error("watching " + filter + " on " + s.url() + " (Ctrl-C to stop)");
        watching = true;
        break;
      case Event::Kind::subscribe_failed:
        error("the broker at " + s.url() + " refused the subscription to " + filter + ": " + e.detail);
        return finish(s, exit_unavailable);
      case Event::Kind::message: {
        const std::string& topic = e.message->get_topic();
        const std::string& payload = e.message->get_payload_str();
        std::fwrite(topic.data(), 1, topic.size(), stdout);
        std::fputc(' ', stdout);
        std::fwrite(payload.data(), 1, payload.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        break;
      }
      case Event::Kind::signal:
        return finish(s, exit_ok);
      case Event::Kind::delivered:
      case Event::Kind::delivery_failed:
        break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options;
    try {
      options = parse_options(argc, argv);
      if (options.command == "buffer" && options.args.size() > 1) throw UsageError("buffer takes at most one path");
      if (!options.help && !options.version && options.command != "watch" && options.command != "buffer" &&
          options.command != "calibrate")
        build_request("x", options.command, options.args);  // argument mistakes before any connection
    } catch (const UsageError& e) {
      error(e.what());
      std::fprintf(stderr, "(see tallyctl --help)\n");
      return exit_usage;
    }
    if (options.help) {
      usage(stdout);
      return exit_ok;
    }
    if (options.version) {
      std::printf("tallyctl %s\n", tally::version);
      return exit_ok;
    }
    if (options.command == "buffer")  // the file itself: no broker, no request
      return print_buffer(options.args.empty() ? buffer_path_from_config(options.config) : options.args[0]);

    // Block the signals we handle before any thread exists (Paho starts threads): they arrive through a signalfd.
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &handled, nullptr);
    signal(SIGPIPE, SIG_IGN);

    int code = exit_ok;
    auto target = resolve_target(options, code);
    if (!target) return code;

    // One token names this invocation: the client id, the request id, the correlation data, the response topic.
    const std::string token = "tallyctl-" + std::to_string(::getpid()) + "-" + random_hex(8);
    Session session(std::move(*target), token, handled);
    if (options.command == "calibrate") return run_calibrate(session, options, token);
    return options.command == "watch" ? run_watch(session, options) : run_command(session, options, token);
  } catch (const UsageError& e) {
    error(e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    error(std::string("internal error: ") + e.what());
    return exit_software;
  } catch (...) {
    error("internal error");
    return exit_software;
  }
}
