#include "harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bench {

namespace {
std::runtime_error sys_error(const std::string& what, int err = errno) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}
}  // namespace

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
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

// ---- Child

Child::Child(std::vector<std::string> argv, const std::string& log_path) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw sys_error("open " + log_path);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  started_ns_ = now_ns();
  const pid_t pid = ::fork();
  if (pid < 0) throw sys_error("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(args[0], args.data());
    _exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = pid;
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

bool Child::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode(status);
    return false;
  }
  return r == 0;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Child::wait(std::chrono::milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  while (running()) {
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return status_;
}

double Child::stop(std::chrono::milliseconds grace) {
  if (!running()) return 0;
  const auto t0 = now_ns();
  signal(SIGCONT);  // in case it was stopped
  signal(SIGTERM);
  if (!wait(grace)) {
    signal(SIGKILL);
    wait(std::chrono::seconds(5));
  }
  return seconds_since(t0);
}

// ---- ports and broker

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sys_error("socket");
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw sys_error("bind", err);
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool port_accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

Broker::Broker(std::string mosquitto, std::string dir) : mosquitto_(std::move(mosquitto)), dir_(std::move(dir)) {
  port_ = free_loopback_port();
  std::ofstream out(dir_ + "/mosquitto.conf", std::ios::trunc);
  out << "listener " << port_ << " 127.0.0.1\n"
      << "allow_anonymous true\n"
      << "persistence false\n"
      << "max_queued_messages 0\n"  // unlimited: never drop QoS 1 messages for a slow subscriber
      << "log_dest stderr\n"
      << "log_type error\nlog_type warning\nlog_type notice\n";
  if (::geteuid() == 0) out << "user root\n";  // otherwise it switches to user mosquitto
  if (!out) throw std::runtime_error("cannot write " + dir_ + "/mosquitto.conf");
}

void Broker::start() {
  if (child_) return;
  const auto end = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    child_ = std::make_unique<Child>(std::vector<std::string>{mosquitto_, "-c", dir_ + "/mosquitto.conf"},
                                     dir_ + "/mosquitto.log");
    while (child_->running()) {
      if (port_accepts(port_)) return;
      if (Clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    child_.reset();
    if (Clock::now() >= end)
      throw std::runtime_error("mosquitto does not accept on port " + std::to_string(port_) + "; see " + dir_ +
                               "/mosquitto.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the old socket may still be in the way
  }
}

void Broker::stop() {
  if (!child_) return;
  child_->stop(std::chrono::seconds(5));
  child_.reset();
}

// ---- Pty

Pty::Pty(std::string link) : link_(std::move(link)) {
  const int m = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) throw sys_error("posix_openpt");
  char name[128];
  if (::grantpt(m) != 0 || ::unlockpt(m) != 0 || ::ptsname_r(m, name, sizeof name) != 0) {
    const int err = errno;
    ::close(m);
    throw sys_error("grantpt/unlockpt/ptsname", err);
  }
  const int s = ::open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (s < 0) {
    const int err = errno;
    ::close(m);
    throw sys_error(std::string("open ") + name, err);
  }
  termios tio{};
  ::tcgetattr(s, &tio);
  ::cfmakeraw(&tio);
  ::tcsetattr(s, TCSANOW, &tio);
  const int flags = ::fcntl(m, F_GETFL);
  ::fcntl(m, F_SETFL, flags | O_NONBLOCK);
  ::unlink(link_.c_str());
  if (::symlink(name, link_.c_str()) != 0) {
    const int err = errno;
    ::close(s);
    ::close(m);
    throw sys_error("symlink " + link_, err);
  }
  master_ = m;
  slave_ = s;
}

Pty::~Pty() {
  if (slave_ >= 0) ::close(slave_);
  if (master_ >= 0) ::close(master_);
  ::unlink(link_.c_str());
}

int Pty::queued() const {
  int n = 0;
  if (::ioctl(slave_, FIONREAD, &n) != 0) return -1;
  return n;
}

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
