#include "station/station.hpp"

#include <spdlog/spdlog.h>

#include "loop/clock.hpp"
#include "config/config_error.hpp"
#include "buffer/buffer_error.hpp"
#include "outputs/gpio_outputs.hpp"
#include "production/store.hpp"
#include "version.hpp"

namespace tally {

namespace {
BufferOptions buffer_options(const BufferConfig& b) { return {b.path, b.max_bytes, b.sync_full}; }
}  // namespace

Station::Station(Config config, EventLoop& loop)
    : config_(std::move(config)),
      loop_(loop),
      stamp_{config_.station.id, clock_synchronised()},
      buffer_(buffer_options(config_.buffer)),
      production_(config_.station.mode, config_.station.downtime_s, config_.recipes, stamp_),
      publisher_(make_paho_link(config_.mqtt, config_.base_topic() + "/status", status_payload(false), loop),
                 config_.base_topic(), loop, buffer_),
      alarms_(production_.context()),
      notifier_(loop, [this] { buffer_.put_state("notify", notifier_.save()); }),
      alarm_timer_(loop, [this] {
        alarm_deadline_.reset();
        alarm_transitions(alarms_.tick(Instant::now()));
      }),
      since_(std::chrono::system_clock::now()),
      clock_check_(loop, [this] { stamp_.clock_synced = clock_synchronised(); }),
      commit_retry_(loop, [] {}),  // waking the loop is enough: the end-of-iteration hook retries the commit
      status_refresh_(loop, [this] {
        note_limited_commands();
        if (buffer_.count() != status_buffered_) publish_status();
        check_buffer_usage();
      }),
      refused_flush_(loop, [this] { flush_refused(); }),
      // publish.refused clears once the broker has refused nothing for as long as the publisher remembers a topic.
      refused_quiet_(loop, [this] { clear_alarm("publish.refused", "no refusal for 10 minutes"); }),
      production_timer_(loop, [this] {
        Outcome o;
        o.records = production_.tick(std::chrono::system_clock::now());
        apply(o);
      }) {
  if (!config_.outputs.empty())
    outputs_ = std::make_unique<GpioOutputs>(config_.outputs, loop_, [this](const std::string& name, bool on) {
      publisher_.publish_state("outputs/" + name, to_text(json{{"on", on}}));
    });
  publisher_.on_connected = [this] { publish_states(); };
  publisher_.on_command = [this](const Publisher::Command& c) { on_command(c); };
  publisher_.on_commands_dropped = [this](std::uint64_t count) { commands_dropped_ += count; };
  publisher_.on_refused = [this](Seq seq, const std::string& topic, int reason, const std::string& why) {
    on_publish_refused(seq, topic, reason, why);
  };
  loop_.at_iteration_end([this] { end_of_iteration(); });
}

// Devices first: a runner stopped with a command pending answers it through this station's members. Outputs go
// back to their inactive level.
Station::~Station() {
  devices_.clear();
  outputs_.reset();
}

void Station::start() {
  if (const auto& r = buffer_.recovered()) {
    json unsaved = json::array();
    for (const auto& range : r->unsaved) unsaved.push_back({{"first_seq", range.first_seq}, {"last_seq", range.last_seq}});
    // Rows kept one per item (a work order's serials, remembered command ids: thousands) are named by their prefix
    // with a count, e.g. "wo-serial/* (2000)", so that the event stays small.
    std::map<std::string, std::size_t> row_groups;
    json salvaged_state = json::array();
    for (const auto& key : r->salvaged_states) {
      bool grouped = false;
      for (const std::string prefix : {kSerialPrefix, kRememberedPrefix})
        if (!grouped && key.starts_with(prefix)) grouped = ++row_groups[prefix] > 0;
      if (!grouped) salvaged_state.push_back(key);
    }
    for (const auto& [prefix, count] : row_groups) salvaged_state.push_back(prefix + "* (" + std::to_string(count) + ")");
    emit_event("buffer.corrupt", {{"moved_to", r->moved_to}, {"reason", r->reason},
                                  {"seq_recovered", r->seq_recovered}, {"salvaged", r->salvaged},
                                  {"salvaged_state", salvaged_state}, {"unsaved", unsaved}});
    buffer_alarm("buffer.corrupt", true,
                 "the buffer database was damaged and moved to " + (r->moved_to.empty() ? "(nothing)" : r->moved_to));
  }
  if (const auto warning = restore_production(production_, buffer_)) spdlog::warn("context: {}", *warning);
  if (const auto saved = buffer_.get_state("batches/last")) batch_last_ = *saved;
  load_remembered_replies();
  if (const auto saved = buffer_.get_state("counters")) {
    const json totals = json::parse(*saved, nullptr, false);
    if (totals.is_object())
      for (const auto& [device, total] : totals.items())
        if (total.is_number_integer()) counters_[device] = total.get<std::int64_t>();
  }
  if (const auto& skip = buffer_.seq_skipped()) {
    spdlog::warn("buffer: the previous run ended without a clean stop in an earlier boot (power cut?); seq {}..{} "
                 "skipped so that no seq it may have published is reused", skip->first_seq, skip->last_seq);
    emit_event("buffer.seq_skipped", {{"first_seq", skip->first_seq},
                                      {"last_seq", skip->last_seq},
                                      {"reason", "unclean shutdown in an earlier boot (power cut)"}});
  }
  emit_event("daemon.started", {{"version", version}, {"buffered", buffer_.count()}});
  restore_alarms();
  if (!production_.context().batch.empty())
    spdlog::info("context: resuming batch {} at step {} ({})", production_.context().batch,
                 production_.context().step_no, production_.context().step);
  if (!production_.context().work_order.empty())
    spdlog::info("context: resuming work order {} at unit {}", production_.context().work_order,
                 production_.context().unit_no);
  arm_production_timer();
  spdlog::info("tallyd {} station {} ({} records buffered, topics under {})", version, config_.station.id,
               buffer_.count(), config_.base_topic());
  start_devices();
  clock_check_.arm(std::chrono::seconds(60), std::chrono::seconds(60));
  status_refresh_.arm(std::chrono::seconds(10), std::chrono::seconds(10));
  publisher_.start();
}

void Station::start_devices() {
  const DeviceRunner::Hooks hooks{
      [this](const DeviceConfig& d, const Reading& r) { on_reading(d, r); },
      [this](const DeviceConfig& d, const Scan& s) { on_scan(d, s); },
      [this](const DeviceConfig& d, const Pulse& p) { on_pulse(d, p); },
      [this](const DeviceConfig& d, bool online, const std::string& error) { on_device_state(d, online, error); }};
  for (const auto& d : config_.devices) devices_.push_back(std::make_unique<DeviceRunner>(d, loop_, hooks));
  for (auto& d : devices_) d->start();
}

bool Station::reload() {
  Config fresh;
  try {
    fresh = load_config(config_.path);
  } catch (const config_error& e) {
    spdlog::error("reload: {} is invalid; keeping the running configuration:", config_.path);
    for (const auto& p : e.problems) spdlog::error("  {}", p);
    return false;
  }
  if (fresh.base_topic() != config_.base_topic() || fresh.mqtt.url != config_.mqtt.url ||
      fresh.buffer.path != config_.buffer.path || fresh.station.mode != config_.station.mode)
    spdlog::warn("reload: changes to [station], [mqtt] and [buffer] take effect at the next restart");
  for (auto& d : devices_) d->stop();
  for (const auto& d : devices_) {
    bool kept = false;
    for (const auto& f : fresh.devices) kept = kept || f.name == d->config().name;
    if (!kept) {
      publisher_.clear_state("devices/" + d->config().name + "/state");
      publisher_.clear_state("devices/" + d->config().name + "/recent");
      recent_.erase(d->config().name);
    }
  }
  devices_.clear();
  config_.devices = std::move(fresh.devices);
  config_.recipes = fresh.recipes;
  config_.scan_rules = std::move(fresh.scan_rules);  // [[scan_rules]] reload with the rest (PRODUCT.md: SIGHUP)
  production_.set_recipes(std::move(fresh.recipes));
  config_.alarms = std::move(fresh.alarms);
  config_.notify = std::move(fresh.notify);
  notifier_.configure(config_.notify);
  configure_alarms();
  start_devices();
  spdlog::info("reload: {} devices from {}", config_.devices.size(), config_.path);
  return true;
}

void Station::save_context() {
  save_production(production_, buffer_);  // the context document and the serial rows added since
  context_dirty_ = false;
  context_saved_ = std::chrono::steady_clock::now();
}

void Station::on_device_state(const DeviceConfig& device, bool online, const std::string& error) {
  if (!online) production_.device_offline(device.name);
  alarm_transitions(alarms_.device_state(device.name, online, error, Instant::now()));
  json fields{{"device", device.name}};
  if (!online) fields["error"] = error;
  emit_event(online ? "device.online" : "device.offline", fields);
  for (const auto& d : devices_)
    if (&d->config() == &device) publisher_.publish_state("devices/" + device.name + "/state", device_state_payload(*d));
}

void Station::on_publish_refused(Seq seq, const std::string& topic, int reason, const std::string& why) {
  // When the broker refuses the events topic itself, a publish.refused event would be refused and parked too and
  // feed itself: the log says it instead.
  if (topic == config_.base_topic() + "/events") {
    std::uint64_t suppressed = 0;
    if (events_refused_log_.allow(suppressed))
      spdlog::error("mqtt: the broker refuses {} itself ({}); seq {} parked", topic, why, seq);
    return;
  }
  auto& p = refused_pending_[topic];
  p.reason = reason;
  p.error = why;
  p.seqs.push_back(seq);
  // One event per topic at most every refused_report_interval, naming every parked seq: a denied topic with a
  // reading every 100 ms must not turn into ten events a second.
  if (!refused_flush_.armed()) {
    const auto since = std::chrono::steady_clock::now() - refused_reported_;
    if (since >= refused_report_interval) flush_refused();
    else refused_flush_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(refused_report_interval - since));
  }
}

void Station::flush_refused() {
  for (auto& [topic, p] : refused_pending_) {
    json seqs = json::array();
    for (std::size_t i = 0; i < p.seqs.size() && i < 1000; ++i) seqs.push_back(p.seqs[i]);
    raise_alarm(SystemAlarm{"publish.refused", Severity::warning,
                            "the broker refused " + std::to_string(p.seqs.size()) + " records on " + topic + " (" +
                                p.error + ")",
                            {}, {}, {}});
    refused_quiet_.arm(std::chrono::duration_cast<std::chrono::milliseconds>(Publisher::refused_topic_memory));
    emit_event("publish.refused", {{"topic", topic},
                                   {"reason", p.reason},
                                   {"error", p.error},
                                   {"first_seq", p.seqs.front()},
                                   {"last_seq", p.seqs.back()},
                                   {"count", p.seqs.size()},
                                   {"seqs", seqs}});
  }
  refused_pending_.clear();
  refused_reported_ = std::chrono::steady_clock::now();
}

void Station::emit_event(const std::string& name, const json& fields) {
  buffer_.append(make_event(stamp_, name, std::chrono::system_clock::now(), fields, production_.context()));
}

void Station::apply(Outcome& outcome) {
  for (const auto& r : outcome.records) {
    const Seq seq = buffer_.append(r);
    if (r.kind != RecordKind::batch) continue;
    batch_last_ = serialize_with_seq(seq, r.body);  // B/batches/last: the record as B/batches carries it
    buffer_.put_state("batches/last", batch_last_);
    batch_last_unpublished_ = true;
  }
  if (!outcome.records.empty()) save_context();
  step_alarms(outcome);
  publish_context();
  arm_production_timer();
}

void Station::arm_production_timer() {
  const auto deadline = production_.next_deadline();
  if (!deadline) return production_timer_.disarm();
  // A monotonic deadline: an NTP step neither starts nor postpones a downtime.
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
  production_timer_.arm(std::max(wait, std::chrono::milliseconds(1)));
}

void Station::publish_context() {
  std::string payload = to_text(production_.context_payload());
  if (payload == published_context_) return;
  published_context_ = std::move(payload);
  publisher_.publish_state("context", published_context_);
}

void Station::end_of_iteration() {
  // While commits fail (disk full), they are retried when the back-off timer says, not on every wake-up: each
  // attempt writes, and a full disk must not cost a core.
  if (!commit_failing_ || std::chrono::steady_clock::now() >= commit_retry_at_) try_commit();
  if (const auto dropped = buffer_.take_memory_overflow()) {
    spdlog::warn("buffer: cannot write and {} bytes queued in memory; dropped {} oldest readings (seq {}..{})",
                 Buffer::kMemoryBound, dropped->dropped, dropped->first_seq, dropped->last_seq);
    emit_event("buffer.overflow", {{"first_seq", dropped->first_seq},
                                   {"last_seq", dropped->last_seq},
                                   {"dropped", dropped->dropped},
                                   {"reason", "memory"}});
  }
  publisher_.pump();
}

void Station::try_commit() {
  try {
    // Committing the overflow event can itself overflow (pages free up late): every drop gets its event.
    auto overflow = buffer_.commit();
    for (int round = 0; overflow && round < 8; ++round) {
      spdlog::warn("buffer: full; dropped {} oldest readings (seq {}..{})", overflow->dropped, overflow->first_seq,
                   overflow->last_seq);
      emit_event("buffer.overflow", {{"first_seq", overflow->first_seq},
                                     {"last_seq", overflow->last_seq},
                                     {"dropped", overflow->dropped}});
      overflow = buffer_.commit();
    }
    if (commit_failing_) {
      spdlog::info("buffer: writing again");
      buffer_alarm("buffer.disk", false, "");
      buffer_.commit();  // the clearing event, at once: the disk has room now
    }
    commit_failing_ = false;
    commit_backoff_ = kCommitBackoffMin;
    for (const auto& [command, answer] : pending_replies_) publisher_.reply(command, answer);
    if (batch_last_unpublished_) publisher_.publish_state("batches/last", batch_last_);
    batch_last_unpublished_ = false;
    pending_replies_.clear();
  } catch (const buffer_error& e) {
    // Disk full or an I/O error: the records stay queued in memory (bounded) and the commit is retried with
    // back-off; acknowledged deletions go first, alone, as soon as it is retried (Buffer::commit).
    if (!commit_failing_) {
      spdlog::error("buffer: commit failed, keeping {} records in memory and retrying: {}", buffer_.pending(),
                    e.what());
      commit_failing_ = true;
      buffer_alarm("buffer.disk", true, std::string("records cannot be written: ") + e.what());
    } else {
      commit_backoff_ = std::min(commit_backoff_ * 2, kCommitBackoffMax);
    }
    commit_retry_at_ = std::chrono::steady_clock::now() + commit_backoff_;
    commit_retry_.arm(commit_backoff_);
  }
  // buffer.high is the alarm engine's own (checked every 10 s against max_mb).
}

// The buffer's alarms (buffer.disk, buffer.corrupt): raised and cleared through the alarm engine like every alarm
// (recorded, retained on B/alarms/<id>, held on outputs, pushed to [[notify]] targets).
void Station::buffer_alarm(const std::string& id, bool active, const std::string& message) {
  if (active) raise_alarm(SystemAlarm{id, Severity::critical, message, {}, {}, {}});
  else clear_alarm(id, "the buffer is writing again");
}

json Station::status_json(bool online) const {
  json status{{"online", online}};
  if (online) {
    status["version"] = version;
    status["since"] = format_ts(since_);
    status["buffered"] = buffer_.count();
  }
  return status;
}

std::string Station::status_payload(bool online) const { return to_text(status_json(online)); }

void Station::publish_status() {
  status_buffered_ = buffer_.count();
  publisher_.publish_state("status", status_payload(true));
}

std::string Station::device_state_payload(const DeviceRunner& d) const {
  json state{{"online", d.online()}};
  if (!d.online() && !d.error().empty()) state["error"] = d.error();
  if (const auto& last = d.last()) {
    state["last_ts"] = format_ts(last->ts);
    state["last_value"] = last->value ? json(*last->value) : json(nullptr);
  }
  if (d.dropped() > 0) state["dropped"] = d.dropped();
  return to_text(state);
}

void Station::publish_states() {
  publish_status();
  published_context_.clear();  // a new connection gets the context again
  publish_context();
  for (const auto& d : devices_) publisher_.publish_state("devices/" + d->config().name + "/state", device_state_payload(*d));
  for (const auto& [device, series] : recent_) publish_recent(device);
  if (!batch_last_.empty()) publisher_.publish_state("batches/last", batch_last_);
  if (outputs_) outputs_->republish();
  publish_alarms();
}

void Station::publish_recent(const std::string& device) {
  publisher_.publish_state("devices/" + device + "/recent", to_text(recent_.at(device).summary(device)));
}

bool Station::shutdown(const std::string& reason, std::chrono::milliseconds drain) {
  stopping_ = true;
  for (auto& d : devices_) d->stop();
  if (outputs_) outputs_->release();  // buzzers and lights off before anything else can go wrong
  if (context_dirty_) save_context();
  emit_event("daemon.stopped", {{"reason", reason}});
  end_of_iteration();
  // Give the broker a moment to take what is buffered (daemon.stopped included), then leave.
  const auto deadline = std::chrono::steady_clock::now() + drain;
  while (publisher_.connected() && !publisher_.drained() && std::chrono::steady_clock::now() < deadline)
    loop_.run_once(std::chrono::milliseconds(50));
  try {
    buffer_.mark_clean_shutdown();  // with acknowledged deletions: the next start does not resend them
  } catch (const buffer_error& e) {
    spdlog::error("buffer: final commit failed: {}", e.what());
  }
  const bool clean = publisher_.stop(status_payload(false), std::chrono::milliseconds(1500));
  spdlog::info("stopped ({}); {} records buffered for the next start", reason, buffer_.count());
  return clean;
}

}  // namespace tally
