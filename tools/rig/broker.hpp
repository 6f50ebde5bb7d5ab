#pragma once
// A real mosquitto broker on a free loopback port, configured in a directory of its own. The constructor starts it
// and returns once it accepts connections; stop() and start() restart it on the SAME port (broker outages). With
// persistence, a client's persistent session and its queued QoS 1 messages survive a restart, so a subscriber
// misses nothing while the broker is down.
//
// Files in `dir`: mosquitto.conf, mosquitto.log (appended across restarts), mosquitto.db (with persistence;
// autosave every second and on SIGTERM). Run as root, the config says `user root` (mosquitto 2.0.11 accepts it with
// a warning) so that it can write `dir`.
#include <chrono>
#include <memory>
#include <string>

#include "rig/process.hpp"

namespace tally::rig {

struct BrokerOptions {
  bool persistence = true;
  // No limit on the queue per client (max_queued_messages 0): bulk tests and the benchmark must not lose QoS 1
  // messages to a slow or absent subscriber. false leaves mosquitto's default: with no limit, mosquitto 2.0.11
  // drops the connection of an MQTT 5 client right after it refuses one of its publishes (PUBACK 135, then "Bad
  // socket read/write"), so ACL tests need the default.
  bool unlimited_queue = true;
  // mosquitto.conf lines for a second listener on secure_port() (a password_file, TLS files...), under
  // per_listener_settings. The first listener stays open to anonymous clients, so a test's subscriber needs no
  // credentials while tallyd must present them. Empty: no second listener.
  std::string secure_listener = {};  // (the initializer keeps GCC 12 quiet about designated initializers)
  // Log connections and disconnections ("information"); the benchmark leaves them out to keep the broker quiet.
  bool log_connections = true;
  std::string mosquitto = "/usr/sbin/mosquitto";
};

class Broker {
 public:
  explicit Broker(std::string dir, BrokerOptions options = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  int port() const { return port_; }
  int secure_port() const { return secure_port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  int pid() const { return process_ ? process_->pid() : -1; }
  void stop();   // SIGTERM, waits for exit (mosquitto saves its persistence file); SIGKILL after 5 s
  void start();  // starts again on the same port, waits until it accepts connections (throws with the log if not)
  bool running() const;
  std::string log() const;  // everything mosquitto printed, all runs

 private:
  void write_config();
  void launch(std::chrono::milliseconds busy_retry);
  std::string config_path() const;
  std::string log_path() const;

  std::string dir_;
  BrokerOptions options_;
  int port_ = 0;
  int secure_port_ = 0;
  std::unique_ptr<Process> process_;
};

// A TCP port on 127.0.0.1 that nobody listens on right now (someone may take it before the caller binds it).
int free_loopback_port();
// Something accepts TCP connections on 127.0.0.1:`port`.
bool accepts_on_loopback(int port);

}  // namespace tally::rig
