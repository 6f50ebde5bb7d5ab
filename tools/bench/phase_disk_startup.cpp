// tally-bench phases: disk writes at 20 readings/s; start-up.
#include "bench.hpp"

namespace bench {

// ---------------------------------------------------------------- disk writes at 20 readings/s

void Bench::phase_disk() {
  json rows = json::array();
  for (const std::string sync : {"normal", "full"}) {
    say("disk: 20 readings/s for %.0f s, sync %s", opt_.disk_s, sync.c_str());
    auto in = make_instance("bench-disk", sync, 256);
    start(*in);
    wait_ready(*in);
    sleep_for_s(2);
    Feeder feeder(*rec_, in->masters());
    const auto io0 = io_sample(in->pid());
    const auto c0 = cpu_sample(in->pid());
    const auto t0 = now_ns();
    const Range r = feeder.paced(20, opt_.disk_s);
    rec_->wait_all(r, 10);
    sleep_for_s(1.5);  // the last acknowledgements are committed in the loop iteration that receives them
    const double elapsed = seconds_since(t0);
    const auto io1 = io_sample(in->pid());
    const auto c1 = cpu_sample(in->pid());
    const auto delivered = rec_->arrived(r);
    const auto payload = rec_->payload_bytes(r);
    const double wb = static_cast<double>(io1.write_bytes - io0.write_bytes);
    const double wc = static_cast<double>(io1.wchar - io0.wchar);
    std::error_code ec;
    json row;
    row["sync"] = sync;
    row["duration_s"] = r2(elapsed);
    row["records"] = delivered;
    row["payload_bytes"] = payload;
    row["payload_bytes_per_record"] = r2(static_cast<double>(payload) / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_bytes"] = io1.write_bytes - io0.write_bytes;
    row["write_bytes_per_record"] = std::round(wb / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_bytes_per_payload_byte"] = r2(wb / static_cast<double>(std::max<std::int64_t>(payload, 1)));
    row["write_bytes_per_s"] = std::round(wb / elapsed);
    row["wchar_bytes"] = io1.wchar - io0.wchar;
    row["wchar_per_record"] = std::round(wc / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["write_syscalls"] = io1.syscw - io0.syscw;
    row["write_syscalls_per_record"] = r2(static_cast<double>(io1.syscw - io0.syscw) / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    row["cancelled_write_bytes"] = io1.cancelled_write_bytes - io0.cancelled_write_bytes;
    row["cpu_percent_of_one_core"] = r3((c1.sched_s - c0.sched_s) / elapsed * 100);
    row["wakeups_per_s"] = r2(static_cast<double>(c1.voluntary + c1.nonvoluntary - c0.voluntary - c0.nonvoluntary) / elapsed);
    row["wal_file_bytes_at_end"] = fs::exists(in->buffer + "-wal", ec) ? static_cast<std::int64_t>(fs::file_size(in->buffer + "-wal", ec)) : 0;
    row["db_file_bytes_at_end"] = static_cast<std::int64_t>(fs::file_size(in->buffer, ec));
    rows.push_back(row);
    say("  %.0f bytes written per record, %.2f per payload byte (wchar %.0f per record)",
        wb / static_cast<double>(std::max<std::int64_t>(delivered, 1)), wb / static_cast<double>(std::max<std::int64_t>(payload, 1)),
        wc / static_cast<double>(std::max<std::int64_t>(delivered, 1)));
    stop(*in);
  }
  out_["disk"] = rows;

  // The same write pattern replayed outside tallyd, and the alternatives (tools/bench/sqlite_writes.cpp).
  if (!opt_.sqlite_experiment.empty() && ::access(opt_.sqlite_experiment.c_str(), X_OK) == 0) {
    const auto payload = rows.empty() ? 155.0 : rows[0]["payload_bytes_per_record"].get<double>();
    const std::string file = work_ + "/sqlite-writes.json";
    say("disk: replaying the buffer's writes with other commit policies (%s)", opt_.sqlite_experiment.c_str());
    const std::string cmd = opt_.sqlite_experiment + " --records " + (opt_.quick ? "4000" : "12000") + " --payload " +
                            std::to_string(std::lround(payload)) + " --dir " + work_ + " --out " + file + " >&2";
    if (std::system(cmd.c_str()) == 0) {
      try {
        out_["disk_alternatives"] = json::parse(read_text(file));
      } catch (const std::exception& e) {
        say("  cannot read %s: %s", file.c_str(), e.what());
      }
    }
  }
}

// ---------------------------------------------------------------- start-up

void Bench::phase_startup() {
  json runs = json::array();
  std::vector<double> first_record, first_reading, shutdown;
  for (int k = 0; k < opt_.startup_runs; ++k) {
    auto in = make_instance("bench-start", "normal", 256);
    Feeder feeder(*rec_, in->masters());
    std::atomic<bool> stop_trickle{false};
    const Range r{rec_->take(20'000), 0};
    const Range lines{r.begin, r.begin + 20'000};
    start(*in);
    const auto t0 = ns_of(in->child->started());
    std::thread trickle([&] { feeder.trickle(lines, 0.002, stop_trickle); });
    const bool ok = rec_->wait_event(in->station, "daemon.started", t0, 1, 20);
    std::int64_t first = 0;
    const auto wait_end = now_ns() + 20'000'000'000LL;
    while (first == 0 && now_ns() < wait_end) {
      first = rec_->first_last_arrival(lines).first;
      if (first == 0) sleep_for_s(0.001);
    }
    stop_trickle = true;
    trickle.join();
    json run;
    if (ok) {
      const double s = static_cast<double>(*rec_->event_after(in->station, "daemon.started", t0, 1) - t0) / 1e9;
      run["first_record_s"] = r3(s);
      first_record.push_back(s);
    }
    if (first != 0) {
      const double s = static_cast<double>(first - t0) / 1e9;
      run["first_reading_s"] = r3(s);
      first_reading.push_back(s);
    }
    const double down = seconds_of(in->child->stop(std::chrono::seconds(6)));
    run["shutdown_s"] = r3(down);
    shutdown.push_back(down);
    runs.push_back(run);
    say("start-up %d: first record %.3f s, first reading %.3f s, SIGTERM to exit %.3f s", k + 1,
        first_record.empty() ? -1.0 : first_record.back(), first_reading.empty() ? -1.0 : first_reading.back(), down);
  }
  auto median = [](std::vector<double> v) {
    if (v.empty()) return -1.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto worst = [](const std::vector<double>& v) { return v.empty() ? -1.0 : *std::max_element(v.begin(), v.end()); };
  json s;
  s["runs"] = runs;
  s["first_record_median_s"] = r3(median(first_record));
  s["first_record_max_s"] = r3(worst(first_record));
  s["first_reading_median_s"] = r3(median(first_reading));
  s["shutdown_median_s"] = r3(median(shutdown));
  s["note"] = "fresh buffer each run; from fork() to the subscriber receiving daemon.started (the first record); a "
              "line is written to device d0 every 2 ms from the start (lines queued before the port opens are "
              "discarded by the driver)";
  out_["startup"] = s;
}

}  // namespace bench
