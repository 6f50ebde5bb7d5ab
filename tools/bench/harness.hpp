#pragma once
// The benchmark's own plumbing: child processes, a mosquitto on a free loopback port, pseudo-terminals that play
// serial devices, and readers for /proc/<pid>/{status,stat,io,schedstat}. Deliberately independent of the test
// support library (tests/support): a benchmark must keep working while the tests change.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;
std::int64_t now_ns();  // steady clock, nanoseconds
double seconds_since(std::int64_t start_ns);
void sleep_for_s(double s);
void sleep_until_ns(std::int64_t t_ns);

// A child process: stdout and stderr appended to `log_path`, the signal mask and dispositions reset, killed with
// SIGKILL if the benchmark dies (PR_SET_PDEATHSIG). Destruction kills it.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  std::optional<int> wait(std::chrono::milliseconds deadline);  // exit code (128+N for a signal)
  // SIGTERM, then SIGKILL after `grace`. Returns how long it took to exit after SIGTERM, in seconds.
  double stop(std::chrono::milliseconds grace = std::chrono::milliseconds(6000));
  std::int64_t started_ns() const { return started_ns_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::int64_t started_ns_ = 0;
};

int free_loopback_port();
bool port_accepts(int port);

// mosquitto for the benchmark: persistence false, max_queued_messages 0, `user root` when root.
class Broker {
 public:
  Broker(std::string mosquitto, std::string dir);
  void start();  // on the same port every time; waits until it accepts (10 s)
  void stop();
  bool running() const { return child_ != nullptr; }
  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return child_ ? child_->pid() : -1; }

 private:
  std::string mosquitto_, dir_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

// A pseudo-terminal whose slave is reached through a symlink, as a USB serial adapter is through
// /dev/serial/by-id/...; the master is non-blocking and written by the feeder.
class Pty {
 public:
  explicit Pty(std::string link);
  ~Pty();
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;
  int master() const { return master_; }
  const std::string& link() const { return link_; }
  // Bytes written but not yet read by the daemon (FIONREAD on our own slave descriptor).
  int queued() const;

 private:
  std::string link_;
  int master_ = -1;
  int slave_ = -1;  // kept open: keeps the termios and lets us look at the input queue
};

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
