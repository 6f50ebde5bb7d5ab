#include "subscriber.hpp"

#include <mqtt/async_client.h>

#include <condition_variable>
#include <stdexcept>

namespace tally::test {

struct Subscriber::Impl : mqtt::iaction_listener {
  // Declared before the client: members are destroyed in reverse order, so the client (and its callback thread)
  // goes first and no callback can touch a destroyed mutex or vector.
  // Recursive, so a wait_for() predicate may call messages()/on() on the same Subscriber without deadlocking.
  mutable std::recursive_mutex mutex;
  mutable std::condition_variable_any changed;
  std::vector<Message> messages;
  bool subscribed = false;  // a SUBACK arrived (for the subscription made on connect)
  std::string filter;
  mqtt::async_client client;

  Impl(const std::string& url, const std::string& id, std::string f)
      // No persistence: never the (uri, id, "dir") overload, which writes files.
      : filter(std::move(f)), client(url, id, mqtt::create_options(MQTTVERSION_3_1_1), nullptr) {}

  // Outcome of the subscribe made in the connected handler (runs on Paho's thread: no blocking).
  void on_success(const mqtt::token&) override {
    {
      std::lock_guard lock(mutex);
      subscribed = true;
    }
    changed.notify_all();
  }
  void on_failure(const mqtt::token&) override {}
};

Subscriber::Subscriber(const std::string& url, const std::string& filter, const std::string& client_id)
    : impl_(std::make_unique<Impl>(url, client_id, filter)) {
  Impl* impl = impl_.get();

  impl->client.set_message_callback([impl](mqtt::const_message_ptr msg) {
    {
      std::lock_guard lock(impl->mutex);
      impl->messages.push_back(Message{msg->get_topic(), msg->to_string(), msg->is_retained()});
    }
    impl->changed.notify_all();
  });
  // On every (re)connect: subscribe again. Never wait on a token here (Paho callbacks run on its one thread).
  impl->client.set_connected_handler([impl](const std::string&) {
    try {
      impl->client.subscribe(impl->filter, 1, nullptr, *impl);
    } catch (...) {
    }
  });

  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_3_1_1)
                     .clean_session(false)
                     .keep_alive_interval(std::chrono::seconds(5))
                     .connect_timeout(std::chrono::seconds(5))
                     .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(1))
                     .finalize();
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string failure;
  try {
    auto token = impl->client.connect(options);
    if (!token->wait_until(end)) failure = "Subscriber: no connection to " + url + " within 10 s";
  } catch (const mqtt::exception& e) {
    failure = "Subscriber: cannot connect to " + url + ": " + e.what();
  }
  if (failure.empty()) {
    // The connected handler subscribes asynchronously: wait for its SUBACK, so a test can publish right away.
    std::unique_lock lock(impl->mutex);
    if (!impl->changed.wait_until(lock, end, [impl] { return impl->subscribed; }))
      failure = "Subscriber: no SUBACK for " + filter + " within 10 s";
  }
  if (!failure.empty()) {
    try {  // never destroy a client that may be connecting or connected (#453)
      impl->client.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (...) {
    }
    throw std::runtime_error(failure);
  }
}

Subscriber::~Subscriber() {
  try {
    // Destroying a Paho 1.2 client before disconnect() completes can crash (#453).
    impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (...) {
  }
}

std::vector<Message> Subscriber::messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

std::vector<Message> Subscriber::on(const std::string& topic) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<Message> out;
  for (const auto& m : impl_->messages)
    if (m.topic == topic) out.push_back(m);
  return out;
}

bool Subscriber::wait_for(const std::function<bool(const std::vector<Message>&)>& ready,
                          std::chrono::milliseconds deadline) const {
  const auto end = std::chrono::steady_clock::now() + deadline;
  std::unique_lock lock(impl_->mutex);
  // Re-evaluated on every arrival (and at the deadline). The predicate runs under the lock: the message callback
  // waits meanwhile, so keep it cheap-ish; arrivals batch up while it runs.
  return impl_->changed.wait_until(lock, end, [&] { return ready(impl_->messages); });
}

void Subscriber::publish(const std::string& topic, const std::string& payload, bool retained) {
  try {
    auto token = impl_->client.publish(topic, payload.data(), payload.size(), 1, retained);
    if (!token->wait_for(std::chrono::seconds(10)))
      throw std::runtime_error("Subscriber: no PUBACK for " + topic + " within 10 s");
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("Subscriber: publish to " + topic + " failed: " + e.what());
  }
}

bool Subscriber::connected() const { return impl_->client.is_connected(); }

void Subscriber::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->messages.clear();
}

}  // namespace tally::test
