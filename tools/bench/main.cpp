// tally-bench: measures tallyd end to end against a real mosquitto, through the real input path (serial-line
// devices on pseudo-terminals), and against the same machine's ceiling (a plain Paho QoS 1 publisher). Writes JSON
// and prints a table. Not a test: it reports numbers and the targets of issue 5, and exits 0 after a bounded run
// (non-zero only when the benchmark itself could not run). See tools/bench/README.md.
#include <signal.h>

#include <thread>

#include "bench.hpp"


int main(int argc, char** argv) {
  auto options = bench::parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  // A bounded run whatever happens: the children die with us (PR_SET_PDEATHSIG).
  const double limit = options.timeout_s;
  std::thread([limit] {
    bench::sleep_for_s(limit);
    std::fprintf(stderr, "tally-bench: gave up after %.0f s (--timeout-s)\n", limit);
    std::_Exit(3);
  }).detach();
  try {
    return bench::Bench(std::move(options)).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tally-bench: %s\n", e.what());
    return 1;
  }
}

