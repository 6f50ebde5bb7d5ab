// Push notifications (see notifier.hpp): the notice text, the request per format, the durable queue and its worker.
#include "notify/notifier.hpp"

#include "notify/curl_api.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>

namespace tally {

using namespace std::chrono;

namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string quantity(std::optional<double> v, const std::string& unit) {
  if (!v) return "none";
  return unit.empty() ? number(*v) : number(*v) + " " + unit;
}

std::string transition_name(AlarmTransition::Kind k) {
  switch (k) {
    case AlarmTransition::Kind::raised: return "raised";
    case AlarmTransition::Kind::acknowledged: return "acknowledged";
    case AlarmTransition::Kind::cleared: return "cleared";
  }
  return "raised";
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

int abort_when_stopping(void* stop, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(stop)->load() ? 1 : 0;
}

}  // namespace

HttpResult http_post(const HttpRequest& request, const std::atomic<bool>& stop) {
  HttpResult result;
  const curl::Api* api = curl::load(result.error);
  if (!api) return result;
  CURL* curl = api->easy_init();
  if (!curl) {
    result.error = "libcurl could not be initialised";
    return result;
  }
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = api->slist_append(headers, h.c_str());
  char error[CURL_ERROR_SIZE] = "";
  api->easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  api->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  api->easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
  api->easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  api->easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_s * 1000));
  api->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(request.timeout_s, 10.0) * 1000));
  api->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // a worker thread: no SIGALRM for DNS timeouts
  api->easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  api->easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  api->easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  api->easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  api->easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
  api->easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&stop));
  api->easy_setopt(curl, CURLOPT_USERAGENT, "tallyd");
  const CURLcode rc = api->easy_perform(curl);
  if (rc == CURLE_OK) {
    api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
    if (!result.ok()) result.error = "HTTP " + std::to_string(result.status);
  } else {
    // curl's own words name the host at most, never the path or query where a token lives.
    result.error = std::string(api->easy_strerror(rc)) + (error[0] ? std::string(" (") + error + ")" : "");
  }
  api->slist_free_all(headers);
  api->easy_cleanup(curl);
  return result;
}

Notice make_notice(const AlarmTransition& t, const std::string& station, Seq seq) {
  const Alarm& a = t.alarm;
  Notice n;
  n.id = station + "-" + std::to_string(seq);
  n.severity = a.severity;
  n.transition = transition_name(t.kind);
  switch (t.kind) {
    case AlarmTransition::Kind::raised:
      n.title = station + ": " + a.id + " (" + to_string(a.severity) + ")";
      break;
    case AlarmTransition::Kind::acknowledged:
      n.title = station + ": " + a.id + " acknowledged" + (a.acknowledged_by.empty() ? "" : " by " + a.acknowledged_by);
      break;
    case AlarmTransition::Kind::cleared:
      n.title = station + ": " + a.id + " cleared";
      break;
  }
  std::string body = a.message;
  if (a.value || a.limit) body += "\nValue " + quantity(a.value, a.unit) + ", limit " + quantity(a.limit, a.unit);
  if (t.kind == AlarmTransition::Kind::cleared && !t.reason.empty()) body += "\nCleared: " + t.reason;
  const StationContext& c = a.context;
  if (!c.batch.empty()) {
    body += "\nBatch " + c.batch + (c.recipe.empty() ? "" : " (" + c.recipe + ")");
    if (!c.step.empty()) body += ", step " + std::to_string(c.step_no) + " " + c.step;
  }
  if (!c.work_order.empty()) body += "\nWork order " + c.work_order + ", unit " + std::to_string(c.unit_no);
  if (!c.operator_id.empty()) body += "\nOperator " + c.operator_id;
  body += "\n" + format_ts(t.at);
  n.message = body;
  n.fields = {{"id", n.id}, {"station", station}, {"alarm", a.id}, {"transition", n.transition},
              {"severity", to_string(a.severity)}, {"ts", format_ts(t.at)}, {"since", format_ts(a.since)}};
  if (!a.device.empty()) n.fields["device"] = a.device;
  if (a.value) n.fields["value"] = *a.value;
  if (a.limit) n.fields["limit"] = *a.limit;
  if (!a.unit.empty()) n.fields["unit"] = a.unit;
  if (!c.batch.empty()) n.fields["batch"] = c.batch;
  if (!c.step.empty()) n.fields["step"] = c.step;
  if (!c.work_order.empty()) n.fields["work_order"] = c.work_order;
  if (!a.acknowledged_by.empty()) n.fields["by"] = a.acknowledged_by;
  if (!t.reason.empty()) n.fields["reason"] = t.reason;
  return n;
}

HttpRequest request_for(const NotifyTarget& target, const Notice& n) {
  HttpRequest r;
  r.timeout_s = target.timeout_s;
  r.headers = {"Content-Type: application/json"};
  if (target.format == NotifyFormat::ntfy) {
    // ntfy's JSON publishing (docs.ntfy.sh/publish/#publish-as-json): POST to the server root with the topic in the
    // body. The target URL is the topic URL, as ntfy's apps show it: https://ntfy.sh/<topic>[?auth=...].
    std::string url = target.url, query;
    if (const auto q = url.find('?'); q != std::string::npos) {
      query = url.substr(q);
      url.resize(q);
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    const auto slash = url.rfind('/');
    const std::string topic = url.substr(slash + 1);
    r.url = url.substr(0, slash + 1) + query;
    const int priority = n.transition != "raised" ? 3 : n.severity == Severity::critical ? 5 : n.severity == Severity::warning ? 4 : 3;
    const char* tag = n.transition == "cleared" ? "white_check_mark"
                      : n.transition == "acknowledged" ? "eyes"
                      : n.severity == Severity::critical ? "rotating_light" : "warning";
    r.body = to_text(json{{"topic", topic}, {"title", n.title}, {"message", n.message}, {"priority", priority},
                          {"tags", json::array({tag})}});
  } else {
    // A generic webhook: "text" is what Slack, Mattermost and Rocket.Chat incoming webhooks show; "title" and
    // "body" for a home-made endpoint; the rest for machines.
    json body{{"title", n.title}, {"body", n.message}, {"text", n.title + "\n" + n.message}};
    body.update(n.fields);
    r.url = target.url;
    r.body = to_text(body);
  }
  return r;
}

Notifier::Notifier(EventLoop& loop, std::function<void()> changed)
    : loop_(loop), changed_(std::move(changed)), sender_(http_post), retry_(loop, [this] { kick(); }) {}

Notifier::~Notifier() {
  *alive_ = false;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Notifier::configure(std::vector<NotifyTarget> targets) {
  std::map<std::string, Queue> fresh;
  for (auto& t : targets) {
    Queue q;
    if (auto it = queues_.find(t.name); it != queues_.end()) {
      q = std::move(it->second);
    } else if (auto o = orphans_.find(t.name); o != orphans_.end()) {
      q.notices = std::move(o->second);
    }
    q.target = t;
    fresh[t.name] = std::move(q);
  }
  std::size_t dropped = 0;
  for (const auto& [name, q] : queues_)
    if (!fresh.count(name)) dropped += q.notices.size();
  for (const auto& [name, notices] : orphans_)
    if (!fresh.count(name)) dropped += notices.size();
  if (dropped) spdlog::warn("notify: {} queued notifications dropped: their [[notify]] target is gone", dropped);
  orphans_.clear();
  queues_ = std::move(fresh);
  if (dropped && changed_) changed_();
  if (!queues_.empty()) {
    std::string why;  // loaded (and curl_global_init run) before the worker thread exists
    if (!curl::load(why)) spdlog::error("notify: notifications cannot be sent: {}", why);
  }
  kick();
}

int Notifier::enqueue(const Notice& notice) {
  int queued = 0;
  for (auto& [name, q] : queues_) {
    if (notice.severity < q.target.min_severity) continue;
    Notice n = notice;
    n.target = name;
    q.notices.push_back(std::move(n));
    ++queued;
  }
  if (queued) {
    if (changed_) changed_();
    kick();
  }
  return queued;
}

std::size_t Notifier::queued() const {
  std::size_t n = 0;
  for (const auto& [name, q] : queues_) n += q.notices.size();
  return n;
}

std::string Notifier::save() const {
  json list = json::array();
  const auto add = [&](const Notice& n) {
    list.push_back({{"id", n.id}, {"target", n.target}, {"severity", to_string(n.severity)},
                    {"transition", n.transition}, {"title", n.title}, {"message", n.message}, {"fields", n.fields},
                    {"attempts", n.attempts}});
  };
  for (const auto& [name, q] : queues_)
    for (const auto& n : q.notices) add(n);
  for (const auto& [name, notices] : orphans_)
    for (const auto& n : notices) add(n);
  return to_text(json{{"version", 1}, {"queue", list}});
}

void Notifier::restore(const std::string& document) {
  try {
    const json doc = json::parse(document);
    for (const auto& j : doc.at("queue")) {
      Notice n;
      n.id = j.at("id");
      n.target = j.at("target");
      n.severity = severity_from(j.value("severity", "warning")).value_or(Severity::warning);
      n.transition = j.value("transition", "raised");
      n.title = j.value("title", "");
      n.message = j.value("message", "");
      n.fields = j.value("fields", json::object());
      n.attempts = j.value("attempts", 0);
      if (auto it = queues_.find(n.target); it != queues_.end()) it->second.notices.push_back(std::move(n));
      else orphans_[n.target].push_back(std::move(n));
    }
  } catch (const std::exception& e) {
    spdlog::warn("notify: the saved queue could not be read ({}); queued notifications are lost", e.what());
  }
  kick();
}

void Notifier::kick() {
  const auto now = steady_clock::now();
  std::optional<steady_clock::time_point> next;
  for (auto& [name, q] : queues_) {
    if (q.in_flight || q.notices.empty()) continue;
    if (now < q.next_try) {
      if (!next || q.next_try < *next) next = q.next_try;
      continue;
    }
    q.in_flight = true;
    Job job{name, q.notices.front().id, request_for(q.target, q.notices.front())};
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
      if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
    }
    wake_.notify_one();
  }
  if (next) retry_.arm(std::max(milliseconds(1), duration_cast<milliseconds>(*next - now)));
}

void Notifier::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    HttpResult result;
    try {
      result = sender_(job.request, stop_);
    } catch (const std::exception& e) {
      result.error = e.what();
    }
    if (stop_) return;
    loop_.post([this, alive = alive_, target = job.target, id = job.id, result] {
      if (*alive) done(target, id, result);
    });
  }
}

void Notifier::done(const std::string& target, const std::string& id, const HttpResult& result) {
  const auto it = queues_.find(target);
  if (it == queues_.end()) return;
  Queue& q = it->second;
  q.in_flight = false;
  if (q.notices.empty() || q.notices.front().id != id) return kick();  // reconfigured meanwhile
  Notice& n = q.notices.front();
  ++n.attempts;
  if (result.ok() || result.permanent()) {
    if (result.ok()) {
      spdlog::info("notify: {} sent to {} ({} {})", n.id, target, n.fields.value("alarm", ""), n.transition);
    } else {
      spdlog::error("notify: {} refused by {} with {}; dropped (check the URL and the endpoint's format)", n.id,
                    target, result.error);
    }
    q.notices.pop_front();
    q.backoff = first_backoff;
    q.next_try = {};
    if (changed_) changed_();
  } else {
    if (n.attempts == 1 || n.attempts % 10 == 0)
      spdlog::warn("notify: {} to {} failed ({}), attempt {}; retrying in {} s", n.id, target, result.error,
                   n.attempts, duration_cast<seconds>(q.backoff).count());
    q.next_try = steady_clock::now() + q.backoff;
    q.backoff = std::min<milliseconds>(q.backoff * 2, max_backoff);
  }
  kick();
}

}  // namespace tally
