#pragma once
// One MQTT 5 connection to the station's broker, driven from the main thread as a sequence of events.
//
// Paho runs every callback on its own thread. Here they do only one thing: append an Event to a locked queue and
// wake the main thread through an eventfd. They never wait on a token, never print, never touch anything else, and
// nothing escapes them. The main thread waits with poll() on that eventfd and on a signalfd (SIGINT/SIGTERM are
// blocked in every thread and reported as events), with a deadline.
//
// As in tallyd (daemon/publisher.cpp): no file persistence, the same URL schemes, credentials and TLS settings.
#include <mqtt/async_client.h>
#include <signal.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"

namespace tallyctl {

// Where to talk to: the broker of a station and its base topic (<prefix>/<station id>).
struct Target {
  tally::MqttConfig mqtt;  // url, credentials, TLS files, keepalive (the version is ignored: always MQTT 5)
  std::string base;
};

struct Event {
  enum class Kind {
    connected,         // the first connection, and every automatic reconnection
    connect_failed,    // detail says why
    lost,              // the connection went away; detail says why
    subscribed,        // tag
    subscribe_failed,  // tag, detail
    delivered,         // tag: the broker acknowledged a QoS 1 publish
    delivery_failed,   // tag, detail
    message,           // message
    signal,            // signal: SIGINT or SIGTERM
    timeout,           // the deadline passed
  };
  explicit Event(Kind k, int t = 0, std::string d = {}) : kind(k), tag(t), detail(std::move(d)) {}
  static Event of_message(mqtt::const_message_ptr m) {
    Event e(Kind::message);
    e.message = std::move(m);
    return e;
  }
  static Event of_signal(int sig) {
    Event e(Kind::signal);
    e.signal = sig;
    return e;
  }

  Kind kind;
  int tag = 0;
  std::string detail;
  mqtt::const_message_ptr message;
  int signal = 0;
};

class Session {
 public:
  using Clock = std::chrono::steady_clock;

  // `signals` must already be blocked in this thread (before any other thread exists): they arrive as events.
  Session(Target target, std::string client_id, const sigset_t& signals);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts connecting; the outcome arrives as connected or connect_failed. With `auto_reconnect`, a lost connection
  // is retried by Paho (connected arrives again, and subscriptions must be made again: clean start).
  void connect(std::chrono::seconds connect_timeout, bool auto_reconnect);
  void subscribe(const std::string& filter, int tag);  // QoS 1
  void publish(mqtt::message_ptr message, int tag);    // QoS as set in the message
  // The next event, waiting until `deadline` (for ever without one).
  Event next(std::optional<Clock::time_point> deadline);
  // Disconnects with a bounded wait. Returns false when a connect is still pending: destroying the client then can
  // crash Paho 1.2 (#453), so the caller should leave with _exit() instead of running destructors.
  bool close();

  const std::string& url() const { return target_.mqtt.url; }
  const std::string& base() const { return target_.base; }

 private:
  class Listener;
  struct Inbox;
  void post(Event e) noexcept;

  Target target_;
  // Destroyed after the client (members go in reverse order), so no callback can reach a destroyed queue.
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<Listener> connect_listener_, subscribe_listener_, publish_listener_;
  int signal_fd_ = -1;
  // As seen by the main thread through next(). Only `connected` and `idle` are safe states to destroy the client in.
  enum class State { idle, connecting, connected, reconnecting } state_ = State::idle;
  bool auto_reconnect_ = false;
  mqtt::async_client client_;
};

// mqtt:// and mqtts:// are tcp:// and ssl:// under their IANA names (Paho C 1.3 knows only the latter).
std::string paho_url(const std::string& url);

}  // namespace tallyctl
