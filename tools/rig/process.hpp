#pragma once
// A child process (tallyd, mosquitto, the emulator, tallyctl) with stdout and stderr appended to a log file and
// stdin from /dev/null. It starts with the signal mask and dispositions reset (Paho ignores SIGPIPE process-wide)
// and no inherited descriptors (a leaked pty master would keep a "pulled" device alive). It is killed (SIGKILL)
// when this object is destroyed, and when the thread that started it dies (PR_SET_PDEATHSIG), so neither a failing
// test nor a crashed benchmark leaves processes behind: start processes from a thread that outlives them.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tally::rig {

class Process {
 public:
  // Starts argv[0] (a path, not searched in PATH). Throws when it cannot be started or executed.
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  std::chrono::steady_clock::time_point started() const { return started_; }  // just before the fork
  bool running();  // reaps it if it has exited
  void signal(int sig);
  // Waits for exit up to `deadline`; returns the exit code (128+N for signal N), or nullopt if still running.
  std::optional<int> wait(std::chrono::milliseconds deadline);
  // SIGCONT (in case it was stopped) and SIGTERM, then SIGKILL if it has not exited after `grace`. Returns how long
  // it took to exit after the SIGTERM (zero when it was not running).
  std::chrono::steady_clock::duration stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  std::string log() const;  // everything it printed so far
  const std::string& log_path() const { return log_path_; }

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace tally::rig
