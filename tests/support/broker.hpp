#pragma once
// A real mosquitto broker on a free loopback port, configured in a temp dir. stop() and start() restart it on the
// SAME port (to test broker outages). With persistence, a client's persistent session and its queued QoS 1
// messages survive a restart, so a test subscriber misses nothing while the broker is down.
#include <memory>
#include <string>

#include "process.hpp"

namespace tally::test {

class Broker {
 public:
  explicit Broker(const std::string& dir, bool persistence = true);  // starts it and waits until it accepts
  ~Broker();
  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  void stop();   // SIGTERM, waits for exit (mosquitto saves its persistence file)
  void start();  // starts again on the same port, waits until it accepts connections

 private:
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

int free_loopback_port();

}  // namespace tally::test
