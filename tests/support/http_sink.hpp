#pragma once
// A tiny HTTP endpoint on 127.0.0.1 for tests of push notifications: it records every request (method, path,
// headers, body) and answers with a status the test chooses. stop() closes the listening socket (a client then gets
// "connection refused", as from an endpoint that is down) and start() opens it again on the SAME port.
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tally::test {

struct HttpRequestSeen {
  std::string method, path, body;
  std::vector<std::string> headers;  // "Name: value" as sent
};

class HttpSink {
 public:
  HttpSink();  // listening on a free port
  ~HttpSink();
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void stop();
  void start();
  void set_status(int status) { status_ = status; }
  std::vector<HttpRequestSeen> requests() const;
  bool wait_for(const std::function<bool(const std::vector<HttpRequestSeen>&)>& ready,
                std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;

 private:
  void serve(int listener);
  int port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> status_{200};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<HttpRequestSeen> seen_;
};

}  // namespace tally::test
