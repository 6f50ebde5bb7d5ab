// tally-bench phases: a burst; a backlog drained after a broker outage.
#include "bench.hpp"

#include "buffer/schema.hpp"

// Readings left in tallyd's buffer (the one schema: daemon/buffer/schema.hpp).
static const std::string kReadingsCount =
    "SELECT count(*) FROM records WHERE kind = " + std::to_string(tally::buffer_schema::kReadingKind);

namespace bench {

// ---------------------------------------------------------------- burst

// Everything at once: how much memory does a flood of input cost, and how fast is it taken in?
void Bench::phase_burst() {
  auto in = make_instance("bench-burst", "normal", 1024);
  start(*in);
  wait_ready(*in);
  sleep_for_s(1);
  say("burst: %lld readings written as fast as the devices take them", static_cast<long long>(opt_.burst));
  Feeder feeder(*rec_, in->masters());
  const auto m0 = mem_sample(in->pid());
  const auto io0 = io_sample(in->pid());
  const auto t0 = now_ns();
  const Range r = feeder.flood(opt_.burst);
  for (int zeros = 0; zeros < 2;) {
    sleep_for_s(0.01);
    bool empty = true;
    for (const auto& p : in->ptys) empty = empty && p->unread() == 0;
    zeros = empty ? zeros + 1 : 0;
  }
  const double read_s = seconds_since(t0) - 0.02;
  const bool all = rec_->wait_all(r, static_cast<double>(r.size()) / 500 + 60);
  const auto [first, last] = rec_->first_last_arrival(r);
  const auto m1 = mem_sample(in->pid());
  const auto io1 = io_sample(in->pid());
  json b;
  b["readings"] = r.size();
  b["read_s"] = r3(read_s);
  b["read_per_s"] = std::round(static_cast<double>(r.size()) / read_s);
  b["delivered_s"] = r2(static_cast<double>(last - t0) / 1e9);
  b["delivered_per_s"] = std::round(static_cast<double>(r.size()) / (static_cast<double>(last - t0) / 1e9));
  b["all_delivered"] = all;
  b["vm_rss_kb_before"] = m0.vm_rss_kb;
  b["vm_hwm_kb_after"] = m1.vm_hwm_kb;
  b["vm_rss_kb_after"] = m1.vm_rss_kb;
  b["rss_anon_kb_before"] = m0.rss_anon_kb;
  b["rss_anon_kb_after"] = m1.rss_anon_kb;
  b["write_syscalls"] = io1.syscw - io0.syscw;
  b["write_bytes_per_record"] = std::round(static_cast<double>(io1.write_bytes - io0.write_bytes) / static_cast<double>(r.size()));
  (void)first;
  out_["burst"] = b;
  say("  read in %.2f s, delivered after %.2f s; VmHWM %lld kB (RSS before %lld kB, anon %lld -> %lld kB)", read_s,
      static_cast<double>(last - t0) / 1e9, static_cast<long long>(m1.vm_hwm_kb), static_cast<long long>(m0.vm_rss_kb),
      static_cast<long long>(m0.rss_anon_kb), static_cast<long long>(m1.rss_anon_kb));
  stop(*in);
}

// ---------------------------------------------------------------- backlog

void Bench::phase_backlog() {
  const double max_mb = std::max(256.0, static_cast<double>(opt_.backlog) * 600 / 1e6 + 64);
  auto in = make_instance("bench-backlog", "normal", max_mb);
  start(*in);
  wait_ready(*in);
  sleep_for_s(1);
  say("backlog: broker stopped; buffering %lld records", static_cast<long long>(opt_.backlog));
  broker_->stop();
  sleep_for_s(1);
  Feeder feeder(*rec_, in->masters());
  const auto m_before = mem_sample(in->pid());
  const auto c0 = cpu_sample(in->pid());
  const auto io0 = io_sample(in->pid());
  const auto t_feed = now_ns();
  const Range r = opt_.backlog_rate > 0
                      ? feeder.paced(opt_.backlog_rate, static_cast<double>(opt_.backlog) / opt_.backlog_rate)
                      : feeder.flood(opt_.backlog);
  // Consumed by tallyd once every device's input queue is empty (twice in a row, 20 ms apart).
  for (int zeros = 0; zeros < 2;) {
    sleep_for_s(0.02);
    bool empty = true;
    for (const auto& p : in->ptys) empty = empty && p->unread() == 0;
    zeros = empty ? zeros + 1 : 0;
    if (seconds_since(t_feed) > 3600) throw std::runtime_error("backlog: tallyd does not read its devices");
  }
  const double ingest_s = seconds_since(t_feed) - 0.04;
  sleep_for_s(0.5);
  const auto c1 = cpu_sample(in->pid());
  const auto io1 = io_sample(in->pid());
  const auto m_buffered = mem_sample(in->pid());
  std::int64_t rows = -1;
  {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(in->buffer.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, kReadingsCount.c_str(), -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW)
        rows = sqlite3_column_int64(s, 0);
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
  }
  std::error_code ec;
  const auto db_bytes = static_cast<std::int64_t>(fs::file_size(in->buffer, ec));
  say("  ingested in %.1f s (%.0f readings/s offered, with the broker down); %lld readings in the buffer, %.0f MB", ingest_s,
      static_cast<double>(r.size()) / ingest_s, static_cast<long long>(rows), static_cast<double>(db_bytes) / 1e6);

  // Freeze tallyd while the broker and the recorder come back, so the recorder is subscribed before tallyd can
  // publish (mosquitto keeps nothing for a subscription that does not exist yet).
  in->child->signal(SIGSTOP);
  std::string copy;
  if (opt_.backlog_restart) {
    copy = in->dir + "/copy";
    fs::create_directories(copy);
    for (const std::string suffix : {"", "-wal"})
      if (fs::exists(in->buffer + suffix, ec)) fs::copy_file(in->buffer + suffix, copy + "/buffer.db" + suffix, fs::copy_options::overwrite_existing, ec);
  }
  const auto subs = rec_->subscriptions();
  broker_->start();
  if (!rec_->wait_subscribed(subs, 20)) throw std::runtime_error("backlog: the recorder did not resubscribe");
  reset_peak_rss(in->pid());
  const auto c2 = cpu_sample(in->pid());
  const auto t_broker = now_ns();
  in->child->signal(SIGCONT);
  say("  broker started; draining");
  std::atomic<bool> done{false};
  std::int64_t max_rss = 0;
  json series = json::array();
  std::thread sampler([&] {
    int k = 0;
    while (!done.load()) {
      const auto m = mem_sample(in->pid());
      max_rss = std::max(max_rss, m.vm_rss_kb);
      if (k++ % 10 == 0) series.push_back({r2(seconds_since(t_broker)), m.vm_rss_kb});
      sleep_for_s(0.1);
    }
  });
  const bool all = rec_->wait_all(r, static_cast<double>(r.size()) / 500 + 120);
  done = true;
  sampler.join();
  const auto c3 = cpu_sample(in->pid());
  const auto m_drain = mem_sample(in->pid());
  const auto [first, last] = rec_->first_last_arrival(r);
  const auto delivered = rec_->arrived(r);
  const double reconnect_s = static_cast<double>(first - t_broker) / 1e9;
  const double drain_s = static_cast<double>(last - first) / 1e9;
  const double rate = static_cast<double>(delivered) / drain_s;
  json b;
  b["records"] = r.size();
  b["ingest_s"] = r2(ingest_s);
  b["ingest_per_s"] = std::round(static_cast<double>(r.size()) / ingest_s);
  b["ingest_tallyd_cpu_s"] = r2(c1.sched_s - c0.sched_s);
  b["ingest_write_bytes_per_record"] = std::round(static_cast<double>(io1.write_bytes - io0.write_bytes) / static_cast<double>(r.size()));
  b["readings_in_buffer"] = rows;
  b["db_file_bytes"] = db_bytes;
  b["vm_rss_kb_before_feed"] = m_before.vm_rss_kb;
  b["vm_rss_kb_buffered"] = m_buffered.vm_rss_kb;
  b["reconnect_s"] = r3(reconnect_s);
  b["drain_s"] = r2(drain_s);
  b["drain_per_s"] = std::round(rate);
  b["broker_start_to_last_s"] = r2(static_cast<double>(last - t_broker) / 1e9);
  b["delivered"] = delivered;
  b["all_delivered"] = all;
  b["drain_vm_hwm_kb"] = m_drain.vm_hwm_kb;
  b["drain_max_sampled_vm_rss_kb"] = max_rss;
  b["drain_vm_rss_kb_end"] = m_drain.vm_rss_kb;
  b["drain_rss_anon_kb_end"] = m_drain.rss_anon_kb;
  b["drain_rss_file_kb_end"] = m_drain.rss_file_kb;
  b["drain_rss_shmem_kb_end"] = m_drain.rss_shmem_kb;
  b["drain_tallyd_cpu_ms_per_1000_records"] = r2((c3.sched_s - c2.sched_s) / static_cast<double>(std::max<std::int64_t>(delivered, 1)) * 1e6);
  b["drain_tallyd_cpu_percent_of_one_core"] = r2((c3.sched_s - c2.sched_s) / std::max(drain_s + reconnect_s, 0.001) * 100);
  if (steady_rate_ > 0) {
    b["steady_per_s"] = std::round(steady_rate_);
    b["drain_vs_steady"] = r3(rate / steady_rate_);
  }
  b["rss_series_s_kb"] = series;
  say("  drained %lld in %.1f s (%.0f/s) after %.1f s to reconnect; peak RSS %lld kB", static_cast<long long>(delivered),
      drain_s, rate, reconnect_s, static_cast<long long>(m_drain.vm_hwm_kb));
  stop(*in);

  if (opt_.backlog_restart) {
    // Start-up with a backlog: a new tallyd on the copy taken before the broker came back.
    auto again = make_instance("bench-backlog", "normal", max_mb, copy + "/buffer.db");
    start(*again);
    const auto t0 = ns_of(again->child->started());
    std::optional<std::int64_t> first_record;
    const auto end = now_ns() + 120'000'000'000LL;
    while (!(first_record = rec_->first_record_after("bench-backlog", t0)) && now_ns() < end) sleep_for_s(0.005);
    const auto m = mem_sample(again->pid());
    if (first_record) {
      b["restart_first_record_s"] = r3(static_cast<double>(*first_record - t0) / 1e9);
      say("  restart on the %lld-record copy: first record published after %.3f s", static_cast<long long>(rows),
          static_cast<double>(*first_record - t0) / 1e9);
    }
    b["restart_vm_hwm_kb"] = m.vm_hwm_kb;
    stop(*again);
  }
  out_["backlog"] = b;
}

}  // namespace bench
