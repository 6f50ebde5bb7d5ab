#pragma once
// A real mosquitto broker on a free loopback port, configured in a temp dir. stop() and start() restart it on the
// SAME port (to test broker outages). With persistence, a client's persistent session and its queued QoS 1
// messages survive a restart, so a test subscriber misses nothing while the broker is down.
//
// Files in `dir`: mosquitto.conf, mosquitto.log (appended across restarts), mosquitto.db (with persistence;
// autosave every second and on SIGTERM). The queue per client is unlimited (max_queued_messages 0).
// Run as root, the config says `user root` (mosquitto 2.0.11 accepts it with a warning) so it can write `dir`.
#include <chrono>
#include <memory>
#include <string>

#include "process.hpp"

namespace tally::test {

class Broker {
 public:
  explicit Broker(const std::string& dir, bool persistence = true);  // starts it and waits until it accepts
  // With a second listener on secure_port() configured by `secure_listener` (mosquitto.conf lines: a
  // password_file, TLS files...), under per_listener_settings. The first listener stays open to anonymous test
  // clients, so the test's subscriber needs no credentials while tallyd must present them.
  // `unlimited_queue` false leaves mosquitto's default queue limit: with `max_queued_messages 0`, mosquitto 2.0.11
  // drops the connection of an MQTT 5 client right after it refuses one of its publishes (PUBACK 135, then "Bad
  // socket read/write"), so ACL tests need the default.
  Broker(const std::string& dir, bool persistence, std::string secure_listener, bool unlimited_queue = true);
  ~Broker();
  int port() const { return port_; }
  int secure_port() const { return secure_port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  void stop();   // SIGTERM, waits for exit (mosquitto saves its persistence file)
  void start();  // starts again on the same port, waits until it accepts connections (throws with the log if not)
  bool running() const;
  std::string log() const;  // everything mosquitto printed, all runs

 private:
  void write_config();
  void launch(std::chrono::milliseconds busy_retry);
  std::string config_path() const;
  std::string log_path() const;

  std::string dir_;
  bool persistence_ = true;
  int port_ = 0;
  int secure_port_ = 0;
  std::string secure_listener_;
  bool unlimited_queue_ = true;
  std::unique_ptr<Process> process_;
};

int free_loopback_port();

}  // namespace tally::test
