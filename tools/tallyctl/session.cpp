#include "session.hpp"

#include <MQTTReasonCodes.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace tallyctl {

std::string paho_url(const std::string& url) {
  if (url.rfind("mqtts://", 0) == 0) return "ssl://" + url.substr(8);
  if (url.rfind("mqtt://", 0) == 0) return "tcp://" + url.substr(7);
  return url;
}

namespace {

std::string reason_text(int reason) {
  const char* text = MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason));
  return std::string(text ? text : "reason") + " (MQTT 5 reason " + std::to_string(reason) + ")";
}

// What a failed token says, for a person.
std::string describe(const mqtt::token& t) {
  const int reason = t.get_reason_code();
  if (reason >= 0x80) return reason_text(reason);
  const int rc = t.get_return_code();
  switch (rc) {
    case MQTTASYNC_FAILURE:  // what Paho C reports when the TCP/TLS connection cannot be made
      return "connection failed (refused, unreachable, timed out, or TLS handshake failed)";
    case MQTTASYNC_DISCONNECTED: return "not connected";
    case MQTTASYNC_BAD_PROTOCOL: return "the broker does not accept MQTT 5";
    case 1: return "the broker refused the connection: unacceptable protocol version";
    case 2: return "the broker refused the connection: client identifier rejected";
    case 3: return "the broker refused the connection: server unavailable";
    case 4: return "the broker refused the connection: bad user name or password";
    case 5: return "the broker refused the connection: not authorized";
    default: break;
  }
  if (rc >= 0x80) return reason_text(rc);
  return mqtt::exception::printable_error(rc, reason);
}

mqtt::connect_options make_options(const tally::MqttConfig& c, std::chrono::seconds connect_timeout,
                                   bool auto_reconnect, mqtt::ssl_options::error_handler tls_errors) {
  mqtt::connect_options_builder b;
  // MQTT 5 needs the version set before clean_start (Paho C++ 1.2 resets it otherwise).
  b.mqtt_version(MQTTVERSION_5).clean_start(true);
  b.keep_alive_interval(std::chrono::seconds(c.keepalive_s > 0 ? c.keepalive_s : 30))
      .connect_timeout(connect_timeout);
  if (auto_reconnect)
    b.automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30));
  else
    b.automatic_reconnect(false);
  if (!c.username.empty()) b.user_name(c.username);
  if (!c.password.empty()) b.password(c.password);
  if (c.tls() || paho_url(c.url).rfind("ssl://", 0) == 0) {
    mqtt::ssl_options_builder ssl;
    if (!c.ca_file.empty()) ssl.trust_store(c.ca_file);
    if (!c.cert_file.empty()) ssl.key_store(c.cert_file).private_key(c.key_file);
    ssl.enable_server_cert_auth(true).verify(true).error_handler(std::move(tls_errors));
    b.ssl(ssl.finalize());
  }
  return b.finalize();
}

}  // namespace

struct Session::Inbox {
  std::mutex mutex;
  std::deque<Event> events;
  std::string tls_errors;  // what OpenSSL said during the last connect attempt
  int wake_fd = -1;
  Inbox() {
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~Inbox() { ::close(wake_fd); }
};

// Reports a token's outcome as an event. Runs on Paho's thread: only posts.
class Session::Listener final : public mqtt::iaction_listener {
 public:
  Listener(Session& s, Event::Kind ok, Event::Kind failed) : session_(s), ok_(ok), failed_(failed) {}
  void on_success(const mqtt::token& t) override {
    // An MQTT 5 SUBACK or PUBACK can carry a failure reason code on a "successful" token.
    if (t.get_reason_code() >= 0x80) return on_failure(t);
    if (ok_ == Event::Kind::connected) return;  // reported by the connected handler (also on reconnects)
    session_.post(Event(ok_, tag(t)));
  }
  void on_failure(const mqtt::token& t) override {
    std::string detail;
    try {
      detail = describe(t);
    } catch (...) {
      detail = "failed";
    }
    session_.post(Event(failed_, tag(t), std::move(detail)));
  }

 private:
  static int tag(const mqtt::token& t) {
    return static_cast<int>(reinterpret_cast<std::intptr_t>(t.get_user_context()));
  }
  Session& session_;
  Event::Kind ok_, failed_;
};

Session::Session(Target target, std::string client_id, const sigset_t& signals)
    : target_(std::move(target)),
      inbox_(std::make_unique<Inbox>()),
      connect_listener_(std::make_unique<Listener>(*this, Event::Kind::connected, Event::Kind::connect_failed)),
      subscribe_listener_(std::make_unique<Listener>(*this, Event::Kind::subscribed, Event::Kind::subscribe_failed)),
      publish_listener_(std::make_unique<Listener>(*this, Event::Kind::delivered, Event::Kind::delivery_failed)),
      // No persistence: the (uri, id, create_options) constructor keeps nothing on disk.
      client_(paho_url(target_.mqtt.url), client_id, mqtt::create_options(MQTTVERSION_5)) {
  signal_fd_ = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");

  client_.set_connected_handler([this](const std::string&) { post(Event(Event::Kind::connected)); });
  client_.set_connection_lost_handler([this](const std::string& cause) {
    post(Event(Event::Kind::lost, 0, cause.empty() ? "connection lost" : cause));
  });
  client_.set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
    post(Event(Event::Kind::lost, 0, "the broker disconnected us: " + reason_text(int(reason))));
  });
  client_.set_message_callback([this](mqtt::const_message_ptr m) {
    post(Event::of_message(std::move(m)));
  });
}

Session::~Session() {
  close();
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

void Session::post(Event e) noexcept {
  try {
    {
      std::lock_guard lock(inbox_->mutex);
      if (e.kind == Event::Kind::connect_failed && !inbox_->tls_errors.empty())
        e.detail += "; TLS: " + inbox_->tls_errors;
      inbox_->events.push_back(std::move(e));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(inbox_->wake_fd, &one, sizeof one);  // never blocks (EFD_NONBLOCK)
  } catch (...) {
  }
}

void Session::connect(std::chrono::seconds connect_timeout, bool auto_reconnect) {
  Inbox* inbox = inbox_.get();
  auto tls_errors = [inbox](const std::string& text) {
    try {
      std::lock_guard lock(inbox->mutex);
      if (inbox->tls_errors.find(text) == std::string::npos)
        inbox->tls_errors += (inbox->tls_errors.empty() ? "" : "; ") + text;
    } catch (...) {
    }
  };
  try {
    const auto options = make_options(target_.mqtt, connect_timeout, auto_reconnect, tls_errors);
    auto_reconnect_ = auto_reconnect;
    state_ = State::connecting;
    client_.connect(options, nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    state_ = State::idle;
    post(Event(Event::Kind::connect_failed, 0, e.what()));
  }
}

void Session::subscribe(const std::string& filter, int tag) {
  try {
    client_.subscribe(filter, 1, reinterpret_cast<void*>(static_cast<std::intptr_t>(tag)), *subscribe_listener_);
  } catch (const mqtt::exception& e) {
    post(Event(Event::Kind::subscribe_failed, tag, e.what()));
  }
}

void Session::publish(mqtt::message_ptr message, int tag) {
  try {
    client_.publish(std::move(message), reinterpret_cast<void*>(static_cast<std::intptr_t>(tag)),
                    *publish_listener_);
  } catch (const mqtt::exception& e) {
    post(Event(Event::Kind::delivery_failed, tag, e.what()));
  }
}

Event Session::next(std::optional<Clock::time_point> deadline) {
  while (true) {
    {
      std::lock_guard lock(inbox_->mutex);
      if (!inbox_->events.empty()) {
        Event e = std::move(inbox_->events.front());
        inbox_->events.pop_front();
        if (e.kind == Event::Kind::connected) state_ = State::connected;
        if (e.kind == Event::Kind::connect_failed) state_ = State::idle;
        if (e.kind == Event::Kind::lost) state_ = auto_reconnect_ ? State::reconnecting : State::idle;
        return e;
      }
    }
    int timeout_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) return Event(Event::Kind::timeout);
      timeout_ms = static_cast<int>(std::min<long long>(left, 60'000));
    }
    pollfd fds[2] = {{inbox_->wake_fd, POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    if (n <= 0) continue;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        return Event::of_signal(static_cast<int>(info.ssi_signo));
    }
    if (fds[0].revents & POLLIN) {
      std::uint64_t count;
      [[maybe_unused]] auto r = ::read(inbox_->wake_fd, &count, sizeof count);
    }
  }
}

bool Session::close() {
  if (state_ == State::idle) return true;
  try {
    auto done = client_.disconnect();  // also stops automatic reconnecting
    if (state_ == State::connected && done->wait_for(std::chrono::seconds(2))) {
      state_ = State::idle;
      return true;
    }
  } catch (...) {
    if (state_ == State::connected) {  // it went away meanwhile: nothing pending
      state_ = State::idle;
      return true;
    }
  }
  return false;
}

}  // namespace tallyctl
