#pragma once
// For tests: a driver that does what the test scripts (open, collect: hand input to the sink, throw) and counts
// what it was asked. Used by the devices room's tests and the station's.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "api/driver.hpp"

namespace tally::test {

// What the test makes the driver do, and what the driver saw.
struct Script {
  std::function<void()> on_open = [] {};
  std::function<void(InputSink&)> on_collect = [](InputSink&) {};
  // A device command (Driver::start_command): answers through `done` now or later; false: no such command.
  std::function<bool(std::string_view name, Driver::CommandDone& done)> on_command =
      [](std::string_view, Driver::CommandDone&) { return false; };
  int fd = -1;
  std::vector<std::chrono::steady_clock::time_point> opens;
  int collects = 0;
  int closes = 0;
  std::vector<std::string> commands;
};

class ScriptedDriver final : public Driver {
 public:
  explicit ScriptedDriver(Script& s) : s_(s) {}
  void open() override {
    s_.opens.push_back(std::chrono::steady_clock::now());
    s_.on_open();
  }
  void close() noexcept override { ++s_.closes; }
  int fd() const noexcept override { return s_.fd; }
  void collect(InputSink& sink) override {
    ++s_.collects;
    s_.on_collect(sink);
  }
  bool start_command(std::string_view name, CommandDone done) override {
    s_.commands.emplace_back(name);
    return s_.on_command(name, done);
  }

 private:
  Script& s_;
};

}  // namespace tally::test
