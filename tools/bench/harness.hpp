#pragma once
// The benchmark's own plumbing: clocks, and readers for /proc/<pid>/{status,stat,io,schedstat}. Independent of the
// test support library (tests/support): a benchmark must keep working while the tests change.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rig/broker.hpp"
#include "rig/process.hpp"
#include "rig/pty.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;
std::int64_t now_ns();  // steady clock, nanoseconds
double seconds_since(std::int64_t start_ns);
void sleep_for_s(double s);
void sleep_until_ns(std::int64_t t_ns);

// Child processes, mosquitto and the pseudo-terminals that play serial devices are the rig's (tools/rig), shared
// with the tests and the emulators. The benchmark's children die with it (PR_SET_PDEATHSIG); its broker runs without
// persistence and without connection logging; its feeder writes the ptys' masters directly.
using Child = tally::rig::Process;
using tally::rig::Broker;
using tally::rig::BrokerOptions;
using tally::rig::Pty;
std::int64_t ns_of(Clock::time_point t);  // as now_ns() counts
double seconds_of(Clock::duration d);

// ---- /proc readers (all values for the whole process unless said otherwise)
struct CpuSample {
  double utime_s = 0, stime_s = 0;  // /proc/PID/stat, clock ticks converted
  double sched_s = 0;               // sum over threads of /proc/PID/task/*/schedstat (ns precision)
  std::int64_t voluntary = 0, nonvoluntary = 0;            // summed over threads
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> per_thread;  // "comm/tid" -> (vol, nonvol)
  std::map<std::string, double> per_thread_cpu_s;                         // "comm/tid" -> schedstat s
  double cpu_s() const { return utime_s + stime_s; }
};
CpuSample cpu_sample(pid_t pid);

struct MemSample {
  std::int64_t vm_hwm_kb = 0, vm_rss_kb = 0, rss_anon_kb = 0, rss_file_kb = 0, rss_shmem_kb = 0;
  std::int64_t pss_kb = 0, pss_anon_kb = 0, pss_file_kb = 0;  // smaps_rollup
};
MemSample mem_sample(pid_t pid);
void reset_peak_rss(pid_t pid);  // echo 5 > /proc/PID/clear_refs (resets VmHWM)

struct IoSample {
  std::int64_t rchar = 0, wchar = 0, syscr = 0, syscw = 0, read_bytes = 0, write_bytes = 0, cancelled_write_bytes = 0;
};
IoSample io_sample(pid_t pid);

// Busy CPU time of the whole machine (all cores, /proc/stat: everything but idle and iowait), in seconds: with
// our processes' own CPU subtracted it shows what else (another build...) ran during a measurement.
double machine_busy_s();
std::string loadavg();

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
std::string run_capture(const std::string& command);  // popen; trimmed stdout

}  // namespace bench
