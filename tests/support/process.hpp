#pragma once
// A child process (tallyd, mosquitto, the emulator) with stdout and stderr captured to a log file. The destructor
// kills it (SIGKILL) and reaps it, so a failing test never leaves processes behind.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tally::test {

class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  bool running();                        // reaps it if it has exited
  void signal(int sig);
  // Waits for exit up to `deadline`; returns the exit code (128+N for signal N), or nullopt if still running.
  std::optional<int> wait(std::chrono::milliseconds deadline);
  std::string log() const;               // everything it printed so far

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

}  // namespace tally::test
