#include "station/station.hpp"

#include <spdlog/spdlog.h>

#include "buffer/buffer_error.hpp"
#include "config/config_error.hpp"
#include "loop/clock.hpp"
#include "outputs/gpio_outputs.hpp"
#include "production/store.hpp"
#include "version.hpp"

namespace tally {

namespace {

BufferOptions buffer_options(const BufferConfig& b) { return {b.path, b.max_bytes, b.sync_full}; }

std::unique_ptr<Outputs> make_outputs(const Config& config, EventLoop& loop, Publisher& publisher) {
  if (config.outputs.empty()) return nullptr;
  return std::make_unique<GpioOutputs>(config.outputs, loop, [&publisher](const std::string& name, bool on) {
    publisher.publish_state("outputs/" + name, to_text(json{{"on", on}}));
  });
}

}  // namespace

Station::Station(Config config, EventLoop& loop)
    : config_(std::move(config)),
      loop_(loop),
      stamp_{config_.station.id, clock_synchronised()},
      buffer_(buffer_options(config_.buffer)),
      production_(config_.station.mode, config_.station.downtime_s, config_.recipes, stamp_),
      publisher_(make_paho_link(config_.mqtt, config_.base_topic() + "/status", RetainedState::offline_status(), loop),
                 config_.base_topic(), loop, buffer_),
      intake_(publisher_, config_.base_topic()),
      outputs_(make_outputs(config_, loop, publisher_)),
      journal_(buffer_, stamp_, production_),
      saved_context_(production_, buffer_),
      retained_(publisher_, buffer_, production_),
      alarms_(config_, loop, buffer_, journal_, publisher_, production_, saved_context_, outputs_.get()),
      production_flow_(loop, production_, journal_, saved_context_, alarms_, retained_),
      input_(config_.scan_rules, buffer_, journal_, production_, production_flow_, saved_context_, alarms_, retained_,
             outputs_.get()),
      commands_(config_.base_topic(), buffer_, journal_, intake_, production_, production_flow_, alarms_, retained_,
                devices_),
      refused_(loop, config_.base_topic() + "/events", journal_, alarms_),
      commit_(loop, buffer_, journal_, alarms_),
      clock_check_(loop, [this] { stamp_.clock_synced = clock_synchronised(); }),
      status_refresh_(loop, [this] {
        commands_.note_limited();
        retained_.refresh_status();
        alarms_.check_buffer_usage();
      }) {
  // The hops that stay std::function (daemon/README.md): the publisher's two notices and the loop's hook.
  intake_.deliver_to(commands_);
  publisher_.on_connected = [this] { republish(); };
  publisher_.on_refused = [this](Seq seq, const std::string& topic, int reason, const std::string& why) {
    refused_.refused(seq, topic, reason, why);
  };
  publisher_.on_resumed = [this](const std::string& topic, std::uint64_t count) {
    refused_.resumed(topic, count, publisher_.set_aside_count());
  };
  loop_.at_iteration_end([this] { end_of_iteration(); });
}

// Devices first: a runner stopped with a command pending answers it through this station's pieces. Outputs go back
// to their inactive level.
Station::~Station() {
  devices_.clear();
  outputs_.reset();
}

void Station::record_recovery(const Recovery& r) {
  json unsaved = json::array();
  for (const auto& range : r.unsaved) unsaved.push_back({{"first_seq", range.first_seq}, {"last_seq", range.last_seq}});
  // Rows kept one per item (a work order's serials, remembered command ids: thousands) are named by their prefix
  // with a count, e.g. "wo-serial/* (2000)", so that the event stays small.
  std::map<std::string, std::size_t> row_groups;
  json salvaged_state = json::array();
  for (const auto& key : r.salvaged_states) {
    bool grouped = false;
    for (const std::string prefix : {kSerialPrefix, RememberedReplies::kPrefix})
      if (!grouped && key.starts_with(prefix)) grouped = ++row_groups[prefix] > 0;
    if (!grouped) salvaged_state.push_back(key);
  }
  for (const auto& [prefix, count] : row_groups) salvaged_state.push_back(prefix + "* (" + std::to_string(count) + ")");
  journal_.event("buffer.corrupt", {{"moved_to", r.moved_to}, {"reason", r.reason},
                                    {"seq_recovered", r.seq_recovered}, {"salvaged", r.salvaged},
                                    {"salvaged_state", salvaged_state}, {"unsaved", unsaved}});
  alarms_.raise(SystemAlarm{"buffer.corrupt", Severity::critical,
                            "the buffer database was damaged and moved to " +
                                (r.moved_to.empty() ? "(nothing)" : r.moved_to),
                            {}, {}, {}});
}

void Station::start() {
  if (const auto& r = buffer_.recovered()) record_recovery(*r);
  if (const auto warning = restore_production(production_, buffer_)) spdlog::warn("context: {}", *warning);
  retained_.restore_batch_last();
  commands_.load_remembered();
  input_.restore_counters();
  if (const auto& skip = buffer_.seq_skipped()) {
    spdlog::warn("buffer: the previous run ended without a clean stop in an earlier boot (power cut?); seq {}..{} "
                 "skipped so that no seq it may have published is reused", skip->first_seq, skip->last_seq);
    journal_.event("buffer.seq_skipped", {{"first_seq", skip->first_seq},
                                          {"last_seq", skip->last_seq},
                                          {"reason", "unclean shutdown in an earlier boot (power cut)"}});
  }
  journal_.event("daemon.started", {{"version", version}, {"buffered", buffer_.count()}});
  alarms_.restore();
  if (!production_.context().batch.empty())
    spdlog::info("context: resuming batch {} at step {} ({})", production_.context().batch,
                 production_.context().step_no, production_.context().step);
  if (!production_.context().work_order.empty())
    spdlog::info("context: resuming work order {} at unit {}", production_.context().work_order,
                 production_.context().unit_no);
  production_flow_.arm_timer();
  spdlog::info("tallyd {} station {} ({} records buffered, topics under {})", version, config_.station.id,
               buffer_.count(), config_.base_topic());
  start_devices();
  clock_check_.arm(std::chrono::seconds(60), std::chrono::seconds(60));
  status_refresh_.arm(std::chrono::seconds(10), std::chrono::seconds(10));
  publisher_.start();
}

void Station::start_devices() {
  for (const auto& d : config_.devices) devices_.push_back(std::make_unique<DeviceRunner>(d, loop_, input_));
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
    if (!kept) retained_.forget_device(d->config().name);
  }
  devices_.clear();
  config_.devices = std::move(fresh.devices);
  config_.recipes = fresh.recipes;
  config_.scan_rules = std::move(fresh.scan_rules);  // [[scan_rules]] reload with the rest (PRODUCT.md: SIGHUP)
  production_.set_recipes(std::move(fresh.recipes));
  config_.alarms = std::move(fresh.alarms);
  config_.notify = std::move(fresh.notify);
  alarms_.reconfigure();
  start_devices();
  spdlog::info("reload: {} devices from {}", config_.devices.size(), config_.path);
  return true;
}

void Station::republish() {
  retained_.republish(devices_);
  if (outputs_) outputs_->republish();
  alarms_.republish();
}

void Station::end_of_iteration() {
  if (commit_.commit()) {
    commands_.send_replies();
    retained_.committed();
  }
  commit_.report_memory_overflow();
  publisher_.pump();
}

bool Station::shutdown(const std::string& reason, std::chrono::milliseconds drain) {
  commands_.stopping();
  for (auto& d : devices_) d->stop();
  if (outputs_) outputs_->release();  // buzzers and lights off before anything else can go wrong
  saved_context_.save_if_changed();
  journal_.event("daemon.stopped", {{"reason", reason}});
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
  const bool clean = publisher_.stop(RetainedState::offline_status(), std::chrono::milliseconds(1500));
  spdlog::info("stopped ({}); {} records buffered for the next start", reason, buffer_.count());
  return clean;
}

}  // namespace tally
