#include "rig/broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tally::rig {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("free_loopback_port: socket: ") + std::strerror(errno));
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("free_loopback_port: ") + std::strerror(err));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts_on_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

Broker::Broker(std::string dir, BrokerOptions options) : dir_(std::move(dir)), options_(std::move(options)) {
  // The port comes from the kernel, but someone may take it before mosquitto binds it: try a few.
  for (int attempt = 0;; ++attempt) {
    port_ = free_loopback_port();
    while (!options_.secure_listener.empty() && (secure_port_ == 0 || secure_port_ == port_))
      secure_port_ = free_loopback_port();
    write_config();
    try {
      launch(std::chrono::milliseconds(0));
      return;
    } catch (const std::exception&) {
      if (attempt >= 4 || log().find("Address already in use") == std::string::npos) throw;
    }
  }
}

Broker::~Broker() {
  try {
    stop();
  } catch (...) {
  }
}

std::string Broker::config_path() const { return dir_ + "/mosquitto.conf"; }
std::string Broker::log_path() const { return dir_ + "/mosquitto.log"; }
std::string Broker::log() const { return read_file(log_path()); }
bool Broker::running() const { return process_ && process_->running(); }

void Broker::write_config() {
  std::ofstream out(config_path(), std::ios::trunc);
  if (!options_.secure_listener.empty()) out << "per_listener_settings true\n";
  out << "listener " << port_ << " 127.0.0.1\n"
      << "allow_anonymous true\n"
      << "log_dest stderr\n"
      << "log_type error\nlog_type warning\nlog_type notice\n";
  if (options_.log_connections) out << "log_type information\n";
  if (options_.unlimited_queue) out << "max_queued_messages 0\n";
  // Started as root, mosquitto switches to user "mosquitto", which cannot write the caller's directory. 2.0.11
  // accepts `user root` (it only warns); as non-root the option has no effect.
  if (::geteuid() == 0) out << "user root\n";
  if (options_.persistence) {
    out << "persistence true\n"
        << "persistence_location " << dir_ << "/\n"
        << "autosave_interval 1\n";
  } else {
    out << "persistence false\n";
  }
  if (!options_.secure_listener.empty())
    out << "listener " << secure_port_ << " 127.0.0.1\n" << options_.secure_listener << "\n";
  out.close();
  if (!out) throw std::runtime_error("Broker: cannot write " + config_path());
}

void Broker::start() {
  if (running()) return;
  launch(std::chrono::seconds(10));
}

void Broker::launch(std::chrono::milliseconds busy_retry) {
  process_.reset();
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(10);
  for (;;) {
    process_ = std::make_unique<Process>(std::vector<std::string>{options_.mosquitto, "-c", config_path()}, log_path());
    for (;;) {
      if (!process_->running()) break;
      if (accepts_on_loopback(port_)) return;
      if (std::chrono::steady_clock::now() >= end) {
        process_.reset();  // SIGKILL
        throw std::runtime_error("Broker: mosquitto does not accept on port " + std::to_string(port_) +
                                 " after 10 s; log:\n" + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // It died. After a restart the old socket may be briefly in the way: retry until the deadline.
    const auto status = process_->wait(std::chrono::milliseconds(0));
    process_.reset();
    const std::string text = log();
    const bool busy = text.rfind("Address already in use") != std::string::npos &&
                      text.rfind("Address already in use") > text.rfind("starting");
    if (!busy || std::chrono::steady_clock::now() >= std::min(end, start + busy_retry))
      throw std::runtime_error("Broker: mosquitto exited (status " + std::to_string(status.value_or(-1)) +
                               ") on port " + std::to_string(port_) + "; log:\n" + text);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Broker::stop() {
  if (!process_) return;
  process_->stop(std::chrono::seconds(5));
  process_.reset();
}

}  // namespace tally::rig
