// tally-bench phase: throughput against the plain-Paho ceiling, and tallyd at saturation.
#include "bench.hpp"

namespace bench {

// ---------------------------------------------------------------- throughput: ceiling and tallyd at saturation

void Bench::phase_throughput(Instance& in) {
  const std::size_t size = payload_size_ > 0 ? payload_size_ : 118;
  const int rounds = opt_.quick ? 2 : 3;
  constexpr std::int64_t kQueued = 2000;  // readings kept fed but undelivered: tallyd always has work
  json ceilings = json::array(), runs = json::array();
  std::vector<double> c_rates, t_rates;
  double cpu_per_1000_sum = 0;

  auto ceiling_run = [&]() {
    say("ceiling %zu: plain Paho QoS 1 publisher, window 20, %zu-byte payloads, %.0f s", c_rates.size() + 1, size,
        opt_.ceiling_s);
    const double warm = std::min(1.0, opt_.ceiling_s / 4);
    CeilingResult res;
    const auto t_launch = now_ns();
    // Same topic length as tallyd's "tally/bench-1/readings/d0".
    std::thread pub([&] {
      res = ceiling_publish(broker_->url(), *rec_, "tally/bench-c/readings/d0", "bench-c", size, opt_.ceiling_s);
    });
    sleep_until_ns(t_launch + static_cast<std::int64_t>(warm * 1e9));
    const auto l0 = load_sample(-1, broker_->pid());
    sleep_until_ns(t_launch + static_cast<std::int64_t>(opt_.ceiling_s * 1e9));
    const auto l1 = load_sample(-1, broker_->pid());
    pub.join();
    rec_->wait_all(res.range, 15);
    const auto n = rec_->arrived_between(res.range, res.t0_ns + static_cast<std::int64_t>(warm * 1e9),
                                         res.t0_ns + static_cast<std::int64_t>(opt_.ceiling_s * 1e9));
    const double rate = static_cast<double>(n) / (opt_.ceiling_s - warm);
    json c = load_json(l0, l1);
    c.erase("tallyd_cpu_percent");
    c["published"] = res.published;
    c["delivered"] = rec_->arrived(res.range);
    c["delivered_per_s"] = std::round(rate);
    c["window_s"] = r2(opt_.ceiling_s - warm);
    ceilings.push_back(c);
    c_rates.push_back(rate);
    say("  %.0f records/s delivered (other load %.0f %%)", rate, c["other_cpu_percent"].get<double>());
  };

  auto tallyd_run = [&]() {
    say("saturation %zu: tallyd with %lld readings always queued, %.0f s", t_rates.size() + 1,
        static_cast<long long>(kQueued), opt_.saturation_s);
    Feeder feeder(*rec_, in.masters());
    const double warm = std::min(1.0, opt_.saturation_s / 4);
    Range r;
    const auto t0 = now_ns();
    std::thread feed([&] { r = feeder.saturate(opt_.saturation_s, kQueued); });
    sleep_until_ns(t0 + static_cast<std::int64_t>(warm * 1e9));
    const auto l0 = load_sample(in.pid(), broker_->pid());
    std::int64_t max_rss = 0;
    while (seconds_since(t0) < opt_.saturation_s) {
      max_rss = std::max(max_rss, mem_sample(in.pid()).vm_rss_kb);
      sleep_for_s(0.1);
    }
    const auto l1 = load_sample(in.pid(), broker_->pid());
    feed.join();
    const double window = static_cast<double>(l1.t_ns - l0.t_ns) / 1e9;
    const auto n = rec_->arrived_between(r, l0.t_ns, l1.t_ns);
    const double rate = static_cast<double>(n) / window;
    const bool all = rec_->wait_all(r, 60);
    json t = load_json(l0, l1);
    t["fed"] = r.size();
    t["delivered_per_s"] = std::round(rate);
    t["window_s"] = r2(window);
    t["all_delivered"] = all;
    const double per_1000 = (l1.tallyd - l0.tallyd) / static_cast<double>(std::max<std::int64_t>(n, 1)) * 1e6;
    t["tallyd_cpu_ms_per_1000_records"] = r2(per_1000);
    json threads = json::object();
    for (const auto& [name, cpu] : l1.tallyd_detail.per_thread_cpu_s) {
      const double before =
          l0.tallyd_detail.per_thread_cpu_s.count(name) ? l0.tallyd_detail.per_thread_cpu_s.at(name) : 0.0;
      threads[name.substr(0, name.find('/'))] = r2((cpu - before) / window * 100);
    }
    t["tallyd_thread_cpu_percent"] = threads;
    t["max_vm_rss_kb"] = max_rss;
    runs.push_back(t);
    t_rates.push_back(rate);
    cpu_per_1000_sum += per_1000;
    say("  %.0f records/s delivered; tallyd %.0f %% CPU, %.1f ms per 1,000 (other load %.0f %%)", rate,
        t["tallyd_cpu_percent"].get<double>(), per_1000, t["other_cpu_percent"].get<double>());
  };

  // Interleaved, so that a change in the machine's load hits both sides: C T C T ... C.
  for (int i = 0; i < rounds; ++i) {
    ceiling_run();
    tallyd_run();
  }
  ceiling_run();
  // A round is clean when nothing else used more than a quarter of a core during its three runs; the ratio is the
  // median of the clean rounds when there are any.
  constexpr double kDisturbed = 25;
  std::vector<double> ratios, clean_ratios, clean_t, clean_c;
  json disturbed = json::array();
  for (int i = 0; i < rounds; ++i) {
    const double r = t_rates[i] / ((c_rates[i] + c_rates[i + 1]) / 2);
    ratios.push_back(r);
    const double other = std::max({ceilings[i]["other_cpu_percent"].get<double>(),
                                   ceilings[i + 1]["other_cpu_percent"].get<double>(),
                                   runs[i]["other_cpu_percent"].get<double>()});
    if (other <= kDisturbed) {
      clean_ratios.push_back(r);
      clean_t.push_back(t_rates[i]);
      clean_c.push_back((c_rates[i] + c_rates[i + 1]) / 2);
    } else {
      disturbed.push_back(i + 1);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  const bool use_clean = !clean_ratios.empty();
  if (!disturbed.empty())
    warnings_.push_back("throughput: rounds " + disturbed.dump() + " ran while something else used more than " +
                        std::to_string(static_cast<int>(kDisturbed)) + " % of a core" +
                        (use_clean ? "; the ratio uses the other rounds" : "; no clean round: the ratio is unreliable"));
  steady_rate_ = median(use_clean ? clean_t : t_rates);
  json th;
  th["payload_bytes"] = size;
  th["window"] = 20;
  th["rounds"] = rounds;
  th["ceiling_runs"] = ceilings;
  th["tallyd_runs"] = runs;
  th["ceiling_per_s"] = std::round(median(use_clean ? clean_c : c_rates));
  th["tallyd_per_s"] = std::round(steady_rate_);
  th["ratios"] = ratios;
  th["disturbed_rounds"] = disturbed;
  th["ratio"] = r3(median(use_clean ? clean_ratios : ratios));
  th["tallyd_cpu_ms_per_1000_records"] = r2(cpu_per_1000_sum / rounds);
  th["vm_hwm_kb_after"] = mem_sample(in.pid()).vm_hwm_kb;
  th["method"] = "ceiling and tallyd alternate (C T C T ... C); each tallyd run is compared with the mean of the "
                 "ceiling runs either side; the ratio is the median over the rounds in which nothing else used more "
                 "than 25 % of a core (over all rounds if none)";
  out_["throughput"] = th;
  say("  ratio %.2f (tallyd %.0f / ceiling %.0f records/s)", th["ratio"].get<double>(), steady_rate_,
      th["ceiling_per_s"].get<double>());
}

}  // namespace bench
