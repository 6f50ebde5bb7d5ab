// MqttLink over Paho C++ 1.2: the only file that knows Paho. Facts that shape it
// (shared/reference/mqtt-and-libraries.md):
// - No Paho persistence and no automatic reconnect: both lose or duplicate work. The buffer is the only queue and
//   the publisher decides when to reconnect.
// - Every Paho callback runs on Paho's one thread: they never block, never throw, and never touch our state; they
//   post to the event loop.
// - MQTT 5 needs create_options(MQTTVERSION_5) and the version set before clean_start.
// - A client destroyed with a connect in flight crashes (bug #453): close() waits for the attempt or says so.
#include <MQTTAsync.h>
#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "loop/event_loop.hpp"
#include "mqtt/link.hpp"

namespace tally {

namespace {

// Commands waiting for the loop: a publisher flooding B/cmd must not grow memory without bound (each one is a
// copy of its payload in the loop's queue). Beyond this many, or this many bytes, messages are dropped and counted.
constexpr int max_queued_messages = 1024;
constexpr std::size_t max_queued_bytes = 1024 * 1024;
// No command is anywhere near this; a larger payload is dropped before it is even copied (its sender is still told,
// through the response topic and correlation data: LinkMessage::oversized).
constexpr std::size_t max_message_bytes = 256 * 1024;

void paho_global_init(bool tls) {
  static std::once_flag once;
  std::call_once(once, [tls] {
    // Paho C initialises OpenSSL at its first client unless told not to: 1.3 MB of libcrypto pages for nothing when
    // the broker is plain TCP. With TLS, OpenSSL 3 initialises itself when the first TLS context is made.
    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = tls ? 1 : 0;
    MQTTAsync_global_init(&init);
  });
}

mqtt::connect_options make_options(const MqttConfig& c, const std::string& will_topic, const std::string& will) {
  mqtt::connect_options_builder b;
  // MQTT 5 needs the version set before clean_start (Paho C++ 1.2 resets it otherwise).
  if (c.version == 5)
    b.mqtt_version(MQTTVERSION_5).clean_start(true);
  else
    b.mqtt_version(MQTTVERSION_3_1_1).clean_session(true);
  b.keep_alive_interval(std::chrono::seconds(c.keepalive_s))
      .connect_timeout(std::chrono::seconds(10))
      .automatic_reconnect(false)
      .will(mqtt::message(will_topic, will, 1, true));
  if (!c.username.empty()) b.user_name(c.username);
  if (!c.password.empty()) b.password(c.password);
  if (c.tls()) {
    mqtt::ssl_options_builder ssl;
    if (!c.ca_file.empty()) ssl.trust_store(c.ca_file);
    if (!c.cert_file.empty()) ssl.key_store(c.cert_file).private_key(c.key_file);
    ssl.enable_server_cert_auth(true).verify(true);
    b.ssl(ssl.finalize());
  }
  return b.finalize();
}

std::string paho_url(const std::string& url) {
  // Paho C 1.3.12 knows tcp:// and ssl://; mqtt:// and mqtts:// are the same thing under their IANA names.
  if (url.rfind("mqtts://", 0) == 0) return "ssl://" + url.substr(8);
  if (url.rfind("mqtt://", 0) == 0) return "tcp://" + url.substr(7);
  return url;
}

// Paho calls these on its own thread. Nothing escapes them.
class Listener final : public mqtt::iaction_listener {
 public:
  using Fn = std::function<void(const mqtt::token&, bool ok)>;
  explicit Listener(Fn fn) : fn_(std::move(fn)) {}
  void on_success(const mqtt::token& t) override { call(t, true); }
  void on_failure(const mqtt::token& t) override { call(t, false); }

 private:
  void call(const mqtt::token& t, bool ok) noexcept {
    try {
      fn_(t, ok);
    } catch (...) {
    }
  }
  Fn fn_;
};

class PahoLink final : public MqttLink {
 public:
  PahoLink(const MqttConfig& config, const std::string& will_topic, const std::string& will_payload, EventLoop& loop)
      : url_(config.url),
        client_id_(config.client_id),
        loop_(loop),
        client_((paho_global_init(config.tls()), paho_url(config.url)), config.client_id,
                mqtt::create_options(config.version == 5 ? MQTTVERSION_5 : MQTTVERSION_DEFAULT)),
        options_(make_options(config, will_topic, will_payload)),
        connect_listener_([this](const mqtt::token& t, bool ok) {
          const std::string why = ok ? "" : describe(t);
          loop_.post([this, ok, why] {
            connecting_ = false;
            if (events_.connect_result) events_.connect_result(ok, why);
          });
        }),
        publish_listener_([this](const mqtt::token& t, bool ok) {
          Delivery d;
          d.token = reinterpret_cast<std::uintptr_t>(t.get_user_context());
          d.ok = ok;
          d.reason = static_cast<int>(t.get_reason_code());
          // A PUBACK with a reason >= 0x80 is the broker saying no (MQTT 5); anything else that fails is the
          // connection going away.
          d.refused = !ok && d.reason >= 0x80;
          if (!ok) d.why = describe(t);
          loop_.post([this, d] {
            if (events_.delivered) events_.delivered(d);
          });
        }) {
    client_.set_message_callback([this](mqtt::const_message_ptr msg) {
      try {  // nothing may escape into Paho's C frames (a bad_alloc on a huge payload)
        const std::size_t size = msg->get_payload_ref().size();
        const bool oversized = size > max_message_bytes;
        const std::size_t held = oversized ? 0 : size;  // what the loop's queue holds of it
        if (queued_messages_ >= max_queued_messages || queued_bytes_ + held > max_queued_bytes) {
          ++dropped_messages_;
          // One report on its way at a time, so dropping cannot itself fill the loop's queue.
          if (!drop_report_posted_.exchange(true)) loop_.post([this] { report_dropped(); });
          return;
        }
        LinkMessage m{msg->get_topic(), oversized ? std::string() : msg->get_payload_str(), {}, {}};
        m.oversized = oversized ? size : 0;
        const auto& props = msg->get_properties();
        if (props.contains(mqtt::property::RESPONSE_TOPIC))
          m.response_topic = mqtt::get<std::string>(props, mqtt::property::RESPONSE_TOPIC);
        if (props.contains(mqtt::property::CORRELATION_DATA))
          m.correlation = mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA);
        ++queued_messages_;
        queued_bytes_ += held;
        loop_.post([this, held, m = std::move(m)]() mutable {
          --queued_messages_;
          queued_bytes_ -= held;
          report_dropped();
          if (events_.message) events_.message(std::move(m));
        });
      } catch (...) {
      }
    });
    client_.set_connection_lost_handler([this](const std::string& cause) {
      loop_.post([this, cause] {
        if (events_.lost) events_.lost(cause.empty() ? "connection lost" : cause);
      });
    });
    client_.set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
      loop_.post([this, reason] {
        if (events_.lost) events_.lost("broker disconnected us (reason " + std::to_string(int(reason)) + ")");
      });
    });
  }

  ~PahoLink() override {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(1));
    } catch (...) {
    }
  }

  void set_events(Events events) override { events_ = std::move(events); }
  std::string describe() const override { return url_ + " as " + client_id_; }

  void connect() override {
    if (connecting_) return;
    connecting_ = true;
    try {
      connect_token_ = client_.connect(options_, nullptr, connect_listener_);
    } catch (const mqtt::exception& e) {
      connecting_ = false;
      const std::string why = e.what();
      loop_.post([this, why] {
        if (events_.connect_result) events_.connect_result(false, why);
      });
    }
  }

  std::uint64_t publish(const std::string& topic, const std::string& payload, bool retain,
                        const std::string& correlation) override {
    const std::uint64_t token = ++last_token_;
    try {
      auto msg = mqtt::make_message(topic, payload, 1, retain);
      if (!correlation.empty()) {
        mqtt::properties props;
        props.add(mqtt::property(mqtt::property::CORRELATION_DATA, correlation));
        msg->set_properties(props);
      }
      client_.publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(token)), publish_listener_);
      return token;
    } catch (const mqtt::exception& e) {
      spdlog::debug("mqtt: publish to {} not queued: {}", topic, e.what());
      return 0;
    }
  }

  void subscribe(const std::string& topic) override {
    try {
      client_.subscribe(topic, 1);  // not waited on: a lost subscription shows as a reconnect
    } catch (const mqtt::exception& e) {
      spdlog::warn("mqtt: cannot subscribe to {}: {}", topic, e.what());
    }
  }

  bool close(const std::string& last_topic, const std::string& last_payload,
             std::chrono::milliseconds deadline) override {
    const auto end = std::chrono::steady_clock::now() + deadline;
    const auto left = [&] {
      return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        end - std::chrono::steady_clock::now()));
    };
    if (connecting_ && connect_token_) {
      try {
        connect_token_->wait_for(left());
      } catch (const mqtt::exception&) {  // the attempt failed: nothing to disconnect
      }
      if (!connect_token_->is_complete()) {
        spdlog::warn("mqtt: connection attempt to {} still in flight at shutdown", url_);
        return false;
      }
      connecting_ = false;
    }
    try {
      if (client_.is_connected())
        client_.publish(last_topic, last_payload.data(), last_payload.size(), 1, true)->wait_for(left() / 2);
    } catch (const mqtt::exception& e) {
      spdlog::warn("mqtt: offline status not published: {}", e.what());
    }
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(left());
    } catch (const mqtt::exception& e) {
      spdlog::debug("mqtt: disconnect: {}", e.what());
    }
    return true;
  }

 private:
  static std::string describe(const mqtt::token& t) {
    std::string why = "rc " + std::to_string(t.get_return_code());
    if (const int reason = static_cast<int>(t.get_reason_code()); reason != 0) {
      why += ", reason " + std::to_string(reason);
      // NULL for a code Paho has no name for.
      if (const char* name = MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason))) why += std::string(" (") + name + ")";
    }
    return why;
  }
  void report_dropped() {
    drop_report_posted_ = false;
    const auto n = dropped_messages_.exchange(0);
    if (n > 0 && events_.messages_dropped) events_.messages_dropped(n);
    if (n > 0)
      spdlog::warn("mqtt: {} incoming messages dropped (over {} or {} bytes waiting, or one over {} bytes)", n,
                   max_queued_messages, max_queued_bytes, max_message_bytes);
  }

  std::string url_, client_id_;
  EventLoop& loop_;
  mqtt::async_client client_;
  mqtt::connect_options options_;
  Listener connect_listener_, publish_listener_;
  mqtt::token_ptr connect_token_;  // the attempt in flight, waited for at close
  Events events_;
  bool connecting_ = false;  // loop thread only
  std::uint64_t last_token_ = 0;
  std::atomic<int> queued_messages_{0};
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<std::uint64_t> dropped_messages_{0};
  std::atomic<bool> drop_report_posted_{false};
};

}  // namespace

std::unique_ptr<MqttLink> make_paho_link(const MqttConfig& config, const std::string& will_topic,
                                         const std::string& will_payload, EventLoop& loop) {
  return std::make_unique<PahoLink>(config, will_topic, will_payload, loop);
}

}  // namespace tally
