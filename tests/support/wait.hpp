#pragma once
// Waiting on a condition with a deadline: the only way tests synchronise (never a bare sleep).
#include <chrono>
#include <thread>

namespace tally::test {

template <class Predicate>
bool wait_until(Predicate&& ready, std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= end) return ready();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace tally::test
