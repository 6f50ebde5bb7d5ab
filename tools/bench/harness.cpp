#include "harness.hpp"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bench {

std::int64_t now_ns() { return ns_of(Clock::now()); }
double seconds_since(std::int64_t start_ns) { return static_cast<double>(now_ns() - start_ns) / 1e9; }
void sleep_for_s(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}
void sleep_until_ns(std::int64_t t_ns) {
  // steady_clock is CLOCK_MONOTONIC on Linux/libstdc++.
  timespec ts{static_cast<time_t>(t_ns / 1'000'000'000), static_cast<long>(t_ns % 1'000'000'000)};
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

std::int64_t ns_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
double seconds_of(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- /proc

double machine_busy_s() {
  std::istringstream in(read_text("/proc/stat"));
  std::string cpu;
  in >> cpu;
  double v[8] = {};
  for (double& x : v) in >> x;
  // user nice system idle iowait irq softirq steal
  const double busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return busy / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string loadavg() {
  std::string l = read_text("/proc/loadavg");
  return l.substr(0, l.find(' ', l.find(' ', l.find(' ') + 1) + 1));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string run_capture(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

namespace {
// "Key:\t  123 kB" lines
std::map<std::string, std::int64_t> key_values(const std::string& text) {
  std::map<std::string, std::int64_t> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const char* p = line.c_str() + colon + 1;
    char* end = nullptr;
    const long long v = std::strtoll(p, &end, 10);
    if (end != p) kv[line.substr(0, colon)] = v;
  }
  return kv;
}

std::vector<std::string> task_ids(pid_t pid) {
  std::vector<std::string> tids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') tids.emplace_back(e->d_name);
    ::closedir(d);
  }
  return tids;
}
}  // namespace

CpuSample cpu_sample(pid_t pid) {
  CpuSample s;
  const std::string base = "/proc/" + std::to_string(pid);
  const std::string stat = read_text(base + "/stat");
  // Fields after the ")" of comm: state is field 3; utime 14, stime 15.
  const auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (in >> field) f.push_back(field);
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    if (f.size() > 12) {
      s.utime_s = std::stod(f[11]) / tick;
      s.stime_s = std::stod(f[12]) / tick;
    }
  }
  for (const auto& tid : task_ids(pid)) {
    const std::string tdir = base + "/task/" + tid;
    auto kv = key_values(read_text(tdir + "/status"));
    std::string comm = read_text(tdir + "/comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    const std::string key = comm + "/" + tid;
    s.per_thread[key] = {kv["voluntary_ctxt_switches"], kv["nonvoluntary_ctxt_switches"]};
    s.voluntary += kv["voluntary_ctxt_switches"];
    s.nonvoluntary += kv["nonvoluntary_ctxt_switches"];
    std::istringstream sched(read_text(tdir + "/schedstat"));
    double ns = 0;
    sched >> ns;
    s.per_thread_cpu_s[key] = ns / 1e9;
    s.sched_s += ns / 1e9;
  }
  return s;
}

MemSample mem_sample(pid_t pid) {
  MemSample m;
  const std::string base = "/proc/" + std::to_string(pid);
  auto kv = key_values(read_text(base + "/status"));
  m.vm_hwm_kb = kv["VmHWM"];
  m.vm_rss_kb = kv["VmRSS"];
  m.rss_anon_kb = kv["RssAnon"];
  m.rss_file_kb = kv["RssFile"];
  m.rss_shmem_kb = kv["RssShmem"];
  auto roll = key_values(read_text(base + "/smaps_rollup"));
  m.pss_kb = roll["Pss"];
  m.pss_anon_kb = roll["Pss_Anon"];
  m.pss_file_kb = roll["Pss_File"];
  return m;
}

void reset_peak_rss(pid_t pid) {
  try {
    write_text("/proc/" + std::to_string(pid) + "/clear_refs", "5");
  } catch (...) {
  }
}

IoSample io_sample(pid_t pid) {
  auto kv = key_values(read_text("/proc/" + std::to_string(pid) + "/io"));
  IoSample io;
  io.rchar = kv["rchar"];
  io.wchar = kv["wchar"];
  io.syscr = kv["syscr"];
  io.syscw = kv["syscw"];
  io.read_bytes = kv["read_bytes"];
  io.write_bytes = kv["write_bytes"];
  io.cancelled_write_bytes = kv["cancelled_write_bytes"];
  return io;
}

}  // namespace bench
