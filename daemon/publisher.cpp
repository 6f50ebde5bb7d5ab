#include "publisher.hpp"

#include <spdlog/spdlog.h>

namespace tally {

namespace {
constexpr auto max_backoff = std::chrono::milliseconds(30'000);

// Heap-allocated per publish and passed to Paho as the user context; freed on the loop thread.
struct PublishContext {
  Seq seq;
  std::uint64_t epoch;
};

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
}  // namespace

// Paho calls these on its own thread. They only post to the loop, and nothing escapes them.
class Publisher::Listener final : public mqtt::iaction_listener {
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

Publisher::Publisher(const MqttConfig& mqtt, std::string base_topic, std::string will_payload, EventLoop& loop,
                     Buffer& buffer)
    : config_(mqtt),
      base_(std::move(base_topic)),
      loop_(loop),
      buffer_(buffer),
      client_(paho_url(mqtt.url), mqtt.client_id,
              mqtt::create_options(mqtt.version == 5 ? MQTTVERSION_5 : MQTTVERSION_DEFAULT)),
      options_(make_options(mqtt, base_ + "/status", will_payload)),
      reconnect_timer_(loop, [this] { connect_now(); }),
      retry_timer_(loop, [this] {
        if (retry_from_ > 0 && connected_) cursor_ = std::min(cursor_, retry_from_ - 1);
        retry_from_ = 0;
        pump();
      }) {
  connect_listener_ = std::make_unique<Listener>([this](const mqtt::token& t, bool ok) {
    const std::string why = ok ? "" : "rc " + std::to_string(t.get_return_code());
    loop_.post([this, ok, why] { on_connect_result(ok, why); });
  });
  publish_listener_ = std::make_unique<Listener>([this](const mqtt::token& t, bool ok) {
    auto* ctx = static_cast<PublishContext*>(t.get_user_context());
    if (!ctx) return;
    const int rc = t.get_return_code();
    loop_.post([this, ctx, ok, rc] {
      const PublishContext c = *ctx;
      delete ctx;
      on_delivery(c.seq, c.epoch, ok, rc);
    });
  });
  client_.set_message_callback([this](mqtt::const_message_ptr msg) {
    try {  // nothing may escape into Paho's C frames (a bad_alloc on a huge payload)
      Command c{msg->get_payload_str(), {}, {}};
      const auto& props = msg->get_properties();
      if (props.contains(mqtt::property::RESPONSE_TOPIC))
        c.response_topic = mqtt::get<std::string>(props, mqtt::property::RESPONSE_TOPIC);
      if (props.contains(mqtt::property::CORRELATION_DATA))
        c.correlation = mqtt::get<std::string>(props, mqtt::property::CORRELATION_DATA);
      loop_.post([this, c = std::move(c)] {
        if (on_command) on_command(c);
      });
    } catch (...) {
    }
  });
  client_.set_connection_lost_handler([this](const std::string& cause) {
    loop_.post([this, cause] { on_lost(cause.empty() ? "connection lost" : cause); });
  });
  client_.set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
    loop_.post([this, reason] { on_lost("broker disconnected us (reason " + std::to_string(int(reason)) + ")"); });
  });
}

Publisher::~Publisher() {
  try {
    if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(1));
  } catch (...) {
  }
}

void Publisher::start() { connect_now(); }

void Publisher::connect_now() {
  if (stopped_ || connected_ || connecting_) return;
  connecting_ = true;
  try {
    connect_token_ = client_.connect(options_, nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    connecting_ = false;
    spdlog::warn("mqtt: connect to {} failed: {}", config_.url, e.what());
    schedule_reconnect();
  }
}

void Publisher::schedule_reconnect() {
  if (stopped_) return;
  reconnect_timer_.arm(backoff_);
  backoff_ = std::min(backoff_ * 2, max_backoff);
}

void Publisher::on_connect_result(bool ok, const std::string& why) {
  connecting_ = false;
  if (stopped_) return;
  if (!ok) {
    spdlog::warn("mqtt: cannot connect to {} ({}); retrying in {} ms", config_.url, why, backoff_.count());
    schedule_reconnect();
    return;
  }
  spdlog::info("mqtt: connected to {} as {}", config_.url, config_.client_id);
  connected_ = true;
  backoff_ = std::chrono::milliseconds(500);
  ++epoch_;
  cursor_ = 0;  // resend everything unacknowledged, oldest first
  retry_from_ = 0;
  inflight_.clear();
  try {
    client_.subscribe(base_ + "/cmd", 1);  // not waited on: a lost subscription shows as a reconnect
  } catch (const mqtt::exception& e) {
    spdlog::warn("mqtt: cannot subscribe to {}/cmd: {}", base_, e.what());
  }
  if (on_connected) on_connected();
  pump();
}

void Publisher::on_lost(const std::string& why) {
  if (!connected_) return;
  connected_ = false;
  inflight_.clear();
  if (stopped_) return;
  spdlog::warn("mqtt: {}; {} records buffered; reconnecting", why, buffer_.count());
  schedule_reconnect();
}

void Publisher::on_delivery(Seq seq, std::uint64_t epoch, bool ok, int rc) {
  if (epoch == epoch_) inflight_.erase(seq);
  if (ok) {
    buffer_.acknowledge(seq);  // a PUBACK is a PUBACK, whichever connection carried it
    return;
  }
  // The record stays in the buffer. After a connection loss the reconnect resends it anyway; while still
  // connected, send again from it in a second (later records go again too: consumers deduplicate on seq).
  if (epoch != epoch_ || !connected_) return;
  spdlog::warn("mqtt: delivery of seq {} failed (rc {}) while connected; resending from it in 1 s", seq, rc);
  retry_from_ = retry_from_ == 0 ? seq : std::min(retry_from_, seq);
  if (!retry_timer_.armed()) retry_timer_.arm(std::chrono::seconds(1));
}

void Publisher::pump() {
  while (connected_ && inflight_.size() < window_ && cursor_ < buffer_.last_committed_seq()) {
    auto records = buffer_.read_after(cursor_, window_ - inflight_.size());
    if (records.empty()) {  // everything after the cursor was acknowledged already
      cursor_ = buffer_.last_committed_seq();
      return;
    }
    for (auto& r : records) {
      auto msg = mqtt::make_message(base_ + "/" + r.topic, std::move(r.payload), 1, false);
      auto* ctx = new PublishContext{r.seq, epoch_};
      try {
        client_.publish(msg, ctx, *publish_listener_);
      } catch (const mqtt::exception& e) {
        delete ctx;
        spdlog::warn("mqtt: publish of seq {} refused: {}; will resend", r.seq, e.what());
        return;  // the connection is going away; the connection-lost path resends
      }
      inflight_.insert(r.seq);
      cursor_ = r.seq;
    }
  }
}

void Publisher::publish_state(const std::string& topic_suffix, const std::string& payload) {
  if (!connected_) return;  // republished on the next connect
  try {
    client_.publish(base_ + "/" + topic_suffix, payload.data(), payload.size(), 1, true);
  } catch (const mqtt::exception& e) {
    spdlog::debug("mqtt: state {} not published: {}", topic_suffix, e.what());
  }
}

void Publisher::reply(const Command& to, const std::string& payload) {
  if (!connected_) return;
  try {
    auto msg = mqtt::make_message(to.response_topic.empty() ? base_ + "/cmd/reply" : to.response_topic, payload, 1,
                                  false);
    if (!to.correlation.empty()) {
      mqtt::properties props;
      props.add(mqtt::property(mqtt::property::CORRELATION_DATA, to.correlation));
      msg->set_properties(props);
    }
    client_.publish(msg);
  } catch (const mqtt::exception& e) {
    spdlog::warn("mqtt: command reply not published: {}", e.what());
  }
}

void Publisher::clear_state(const std::string& topic_suffix) { publish_state(topic_suffix, ""); }

bool Publisher::stop(const std::string& offline_status, std::chrono::milliseconds deadline) {
  stopped_ = true;
  reconnect_timer_.disarm();
  retry_timer_.disarm();
  const auto end = std::chrono::steady_clock::now() + deadline;
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                      end - std::chrono::steady_clock::now()));
  };
  if (connecting_ && connect_token_) {
    // A client destroyed with a connect in flight crashes Paho (bug #453): let the attempt finish first.
    try {
      connect_token_->wait_for(left());
    } catch (const mqtt::exception&) {  // the attempt failed: nothing to disconnect
    }
    if (!connect_token_->is_complete()) {
      spdlog::warn("mqtt: connection attempt to {} still in flight at shutdown", config_.url);
      return false;
    }
    connecting_ = false;
  }
  try {
    if (client_.is_connected())
      client_.publish(base_ + "/status", offline_status.data(), offline_status.size(), 1, true)->wait_for(left() / 2);
  } catch (const mqtt::exception& e) {
    spdlog::warn("mqtt: offline status not published: {}", e.what());
  }
  try {
    if (client_.is_connected()) client_.disconnect()->wait_for(left());
  } catch (const mqtt::exception& e) {
    spdlog::debug("mqtt: disconnect: {}", e.what());
  }
  connected_ = false;
  return true;
}

}  // namespace tally
