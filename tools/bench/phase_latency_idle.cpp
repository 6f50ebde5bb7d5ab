// tally-bench phases: latency, steady memory and CPU per record; idle wake-ups and CPU.
#include "bench.hpp"

namespace bench {

// ---------------------------------------------------------------- latency, steady memory, CPU per record

void Bench::phase_latency_memory(Instance& in) {
  Feeder feeder(*rec_, in.masters());
  json rows = json::array();
  std::int64_t sampled_max_rss = 0;
  for (double rate : opt_.latency_rates) {
    say("latency: %.0f readings/s for %.0f s", rate, opt_.latency_s);
    std::atomic<bool> done{false};
    std::int64_t max_rss = 0;
    std::thread sampler([&] {
      while (!done.load()) {
        max_rss = std::max(max_rss, mem_sample(in.pid()).vm_rss_kb);
        sleep_for_s(0.1);
      }
    });
    const auto c0 = cpu_sample(in.pid());
    const auto l0 = load_sample(in.pid(), broker_->pid());
    const auto t0 = now_ns();
    const Range r = feeder.paced(rate, opt_.latency_s);
    const auto l1 = load_sample(in.pid(), broker_->pid());
    const bool all = rec_->wait_all(r, 15);
    const double elapsed = seconds_since(t0);
    const auto c1 = cpu_sample(in.pid());
    done = true;
    sampler.join();
    sampled_max_rss = std::max(sampled_max_rss, max_rss);
    const auto s = rec_->latency(r);
    const auto payload = rec_->payload_bytes(r);
    if (s.count > 0) payload_size_ = static_cast<std::size_t>(std::llround(static_cast<double>(payload) / static_cast<double>(s.count)));
    json row;
    row["rate_per_s"] = rate;
    row["readings"] = r.size();
    row["delivered"] = s.count;
    row["lost"] = s.lost;
    row["p50_ms"] = r3(s.p50_ms);
    row["p90_ms"] = r3(s.p90_ms);
    row["p99_ms"] = r3(s.p99_ms);
    row["p99_9_ms"] = r3(s.p999_ms);
    row["max_ms"] = r3(s.max_ms);
    row["mean_ms"] = r3(s.mean_ms);
    row["cpu_s"] = r3(c1.cpu_s() - c0.cpu_s());
    row["cpu_sched_s"] = r3(c1.sched_s - c0.sched_s);
    row["cpu_percent_of_one_core"] = r2((c1.sched_s - c0.sched_s) / elapsed * 100);
    row["cpu_ms_per_1000_records"] = r2((c1.sched_s - c0.sched_s) / static_cast<double>(std::max<std::int64_t>(s.count, 1)) * 1e6);
    row["max_vm_rss_kb"] = max_rss;
    row["other_cpu_percent"] = load_json(l0, l1)["other_cpu_percent"];
    if (row["other_cpu_percent"].get<double>() > 25)
      warnings_.push_back("latency at " + std::to_string(static_cast<int>(rate)) +
                          "/s: something else used " + row["other_cpu_percent"].dump() + " % of a core meanwhile");
    if (!all) row["note"] = "not every reading arrived within 15 s of the end";
    rows.push_back(row);
    say("  p50 %.2f ms  p99 %.2f ms  max %.2f ms  lost %lld (other load %.0f %%)", s.p50_ms, s.p99_ms, s.max_ms,
        static_cast<long long>(s.lost), row["other_cpu_percent"].get<double>());
  }
  out_["latency"] = rows;
  out_["payload_bytes_avg"] = payload_size_;

  sleep_for_s(1);
  const auto m = mem_sample(in.pid());
  json mem;
  mem["devices"] = opt_.devices;
  mem["vm_hwm_kb"] = m.vm_hwm_kb;
  mem["vm_rss_kb"] = m.vm_rss_kb;
  mem["rss_anon_kb"] = m.rss_anon_kb;
  mem["rss_file_kb"] = m.rss_file_kb;
  mem["rss_shmem_kb"] = m.rss_shmem_kb;
  mem["pss_kb"] = m.pss_kb;
  mem["pss_anon_kb"] = m.pss_anon_kb;
  mem["pss_file_kb"] = m.pss_file_kb;
  mem["max_sampled_vm_rss_kb"] = sampled_max_rss;
  mem["threads"] = cpu_sample(in.pid()).per_thread.size();
  mem["note"] = "after start-up and the 10, 100 and 1000 readings/s runs; VmHWM is the peak since start";
  out_["memory_steady"] = mem;
  say("memory: VmHWM %lld kB, VmRSS %lld kB (anon %lld, file %lld, shmem %lld), PSS %lld kB",
      static_cast<long long>(m.vm_hwm_kb), static_cast<long long>(m.vm_rss_kb), static_cast<long long>(m.rss_anon_kb),
      static_cast<long long>(m.rss_file_kb), static_cast<long long>(m.rss_shmem_kb), static_cast<long long>(m.pss_kb));
}

// ---------------------------------------------------------------- idle

void Bench::phase_idle(Instance& in) {
  say("idle: %.0f s with the devices open and nothing arriving", opt_.idle_s);
  sleep_for_s(3);  // let the last acknowledgements commit
  const auto c0 = cpu_sample(in.pid());
  const auto io0 = io_sample(in.pid());
  const auto l0 = load_sample(in.pid(), broker_->pid());
  const auto t0 = now_ns();
  sleep_for_s(opt_.idle_s);
  const auto l1 = load_sample(in.pid(), broker_->pid());
  const double elapsed = seconds_since(t0);
  const auto c1 = cpu_sample(in.pid());
  const auto io1 = io_sample(in.pid());
  json idle;
  idle["duration_s"] = r2(elapsed);
  idle["cpu_s"] = r3(c1.cpu_s() - c0.cpu_s());
  idle["cpu_sched_s"] = r3(c1.sched_s - c0.sched_s);
  idle["cpu_percent_of_one_core"] = r3((c1.sched_s - c0.sched_s) / elapsed * 100);
  const auto vol = c1.voluntary - c0.voluntary, invol = c1.nonvoluntary - c0.nonvoluntary;
  idle["context_switches"] = vol + invol;
  idle["wakeups_per_s"] = r2(static_cast<double>(vol + invol) / elapsed);
  idle["voluntary_per_s"] = r2(static_cast<double>(vol) / elapsed);
  json threads = json::object();
  for (const auto& [name, v] : c1.per_thread) {
    const auto it = c0.per_thread.find(name);
    const auto before = it == c0.per_thread.end() ? std::pair<std::int64_t, std::int64_t>{0, 0} : it->second;
    const double cpu_before = c0.per_thread_cpu_s.count(name) ? c0.per_thread_cpu_s.at(name) : 0.0;
    json t;
    t["wakeups_per_s"] = r3(static_cast<double>(v.first - before.first + v.second - before.second) / elapsed);
    t["cpu_ms"] = r3((c1.per_thread_cpu_s.at(name) - cpu_before) * 1000);
    threads[name] = t;
  }
  idle["threads"] = threads;
  idle["wchar_bytes"] = io1.wchar - io0.wchar;
  idle["write_bytes"] = io1.write_bytes - io0.write_bytes;
  idle["other_cpu_percent"] = load_json(l0, l1)["other_cpu_percent"];
  out_["idle"] = idle;
  say("  cpu %.3f%% of one core, %.2f wake-ups/s", (c1.sched_s - c0.sched_s) / elapsed * 100,
      static_cast<double>(vol + invol) / elapsed);
}

}  // namespace bench
