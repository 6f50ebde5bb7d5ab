#include "rig/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace tally::rig {

namespace {

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::runtime_error sys_error(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

}  // namespace

Process::Process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  if (argv.empty()) throw std::invalid_argument("Process: empty argv");

  // Everything the child needs is prepared before fork(): between fork and exec only async-signal-safe calls.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw sys_error("Process: cannot open log " + log_path_, errno);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int err = errno;
    ::close(log_fd);
    throw sys_error("Process: cannot open /dev/null", err);
  }
  // exec failures come back through this pipe (closed by a successful exec).
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(log_fd);
    ::close(null_fd);
    throw sys_error("Process: pipe2", err);
  }

  const pid_t parent = ::getpid();
  started_ = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(log_fd);
    ::close(null_fd);
    ::close(report[0]);
    ::close(report[1]);
    throw sys_error("Process: fork", err);
  }
  if (pid == 0) {
    // Child. Dies with its parent; if the parent died before prctl() took effect, go now.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) _exit(127);
    // Do not inherit the parent's signal mask or ignored signals.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // fails harmlessly for KILL/STOP

    if (::dup2(null_fd, STDIN_FILENO) < 0 || ::dup2(log_fd, STDOUT_FILENO) < 0 ||
        ::dup2(log_fd, STDERR_FILENO) < 0) {
      const int err = errno;
      (void)!::write(report[1], &err, sizeof err);
      _exit(127);
    }
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(args[0], args.data());
    const int err = errno;
    (void)!::write(report[1], &err, sizeof err);
    _exit(127);
  }

  ::close(log_fd);
  ::close(null_fd);
  ::close(report[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = decode(status);
    throw sys_error("Process: cannot exec " + argv[0], child_errno);
  }
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = decode(status);
  }
}

bool Process::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode(status);
    return false;
  }
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere: cannot know the code
    status_ = -1;
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  // Polled every millisecond: the benchmark times shutdowns with this.
  while (running()) {
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return status_;
}

std::chrono::steady_clock::duration Process::stop(std::chrono::milliseconds grace) {
  if (!running()) return {};
  const auto t0 = std::chrono::steady_clock::now();
  signal(SIGCONT);
  signal(SIGTERM);
  if (!wait(grace)) {
    signal(SIGKILL);
    wait(std::chrono::seconds(5));
  }
  return std::chrono::steady_clock::now() - t0;
}

std::string Process::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tally::rig
