#pragma once
// Push notifications of alarm transitions to people ([[notify]] targets: an ntfy topic, a chat webhook, any
// endpoint taking a JSON POST). docs/alarms.md shows what arrives.
//
// - Durable: every notice is queued in a document the station saves in the buffer's state table in the same
//   transaction as the alarm transition it reports, so a notice raised while the network (or the daemon) is down is
//   sent when it is back.
// - Off the event loop: one worker thread does the HTTP (libcurl, with a timeout) and hands each result back with
//   EventLoop::post. A slow or dead endpoint never delays a reading.
// - Once per transition: a notice leaves the queue when its endpoint answered 2xx; it carries an `id` unique to the
//   transition ("<station>-<seq of the transition's record>") so a receiver can deduplicate the one case where a
//   notice may be sent twice (the daemon killed between the endpoint's answer and the next commit).
// - Per target in order, one at a time; a failure (connection refused, timeout, 5xx, 429) is retried with back-off
//   from 2 s doubling to 5 min. A 4xx other than 408/429 will not get better: logged and dropped.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alarms/engine.hpp"
#include "loop/event_loop.hpp"

namespace tally {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;
  std::string body;
  double timeout_s = 10;
};

struct HttpResult {
  long status = 0;        // HTTP status; 0 when no answer came
  std::string error;      // what went wrong (never the URL: it may carry a token)
  bool ok() const { return status >= 200 && status < 300; }
  bool permanent() const { return status >= 400 && status < 500 && status != 408 && status != 429; }
};

// A POST with libcurl. Blocking: called on the notifier's worker only. `stop` aborts a transfer in progress.
HttpResult http_post(const HttpRequest& request, const std::atomic<bool>& stop);

// One transition to push, as a person reads it on a lock screen.
struct Notice {
  std::string id;         // "<station>-<seq>"
  std::string target;     // NotifyTarget::name
  Severity severity = Severity::warning;
  std::string transition; // raised | acknowledged | cleared
  std::string title;
  std::string message;
  json fields;            // machine-readable: station, alarm, state, severity, value, limit, unit, batch, step, ts
  int attempts = 0;
};

// The notice for a transition: title "bench-1: kettle-overheat (critical)", message with value vs limit, batch and
// step. `seq` is the seq of the transition's record.
Notice make_notice(const AlarmTransition& t, const std::string& station, Seq seq);

// The HTTP request a target gets for a notice (webhook: a JSON object; ntfy: ntfy's JSON publishing format).
HttpRequest request_for(const NotifyTarget& target, const Notice& notice);

class Notifier {
 public:
  // `changed` runs on the loop thread whenever the queue changed: the owner saves save() with its next commit.
  Notifier(EventLoop& loop, std::function<void()> changed);
  ~Notifier();  // stops the worker (a transfer in progress is aborted) and joins it
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // The targets in force; notices queued for a target that is no longer configured are dropped.
  void configure(std::vector<NotifyTarget> targets);
  // Queues `notice` for every target whose min_severity it reaches (cleared and acknowledged notices go wherever
  // the raised one went). Returns how many targets it was queued for.
  int enqueue(const Notice& notice);

  std::string save() const;
  void restore(const std::string& document);  // an unreadable document is ignored (logged)
  std::size_t queued() const;

  // What does a POST: http_post (tests send to a real local endpoint, tests/support/http_sink.hpp).
  using Sender = std::function<HttpResult(const HttpRequest&, const std::atomic<bool>& stop)>;

  static constexpr std::chrono::seconds first_backoff{2}, max_backoff{300};

 private:
  struct Queue {
    NotifyTarget target;
    std::deque<Notice> notices;
    bool in_flight = false;
    std::chrono::steady_clock::time_point next_try{};
    std::chrono::milliseconds backoff{first_backoff};
  };
  struct Job {
    std::string target;
    std::string id;
    HttpRequest request;
  };
  void kick();
  void done(const std::string& target, const std::string& id, const HttpResult& result);
  void work();

  EventLoop& loop_;
  std::function<void()> changed_;
  Sender sender_;
  std::map<std::string, Queue> queues_;
  std::map<std::string, std::deque<Notice>> orphans_;  // restored before configure(): kept until then
  Timer retry_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // the worker
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

}  // namespace tally
