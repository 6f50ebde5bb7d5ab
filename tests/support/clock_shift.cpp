// LD_PRELOAD shim that shifts the WALL clock of one process (tallyd under test), as NTP does at first sync on a Pi
// without an RTC. The shift in seconds is read from the file named by $TALLY_CLOCK_SHIFT_FILE (re-read at most
// every 20 ms, so a test changes it while the process runs); CLOCK_REALTIME, CLOCK_REALTIME_COARSE,
// gettimeofday() and time() are shifted; the monotonic clocks are not touched.
#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace {

using clock_gettime_fn = int (*)(clockid_t, timespec*);

clock_gettime_fn real_clock_gettime() {
  static const auto fn = reinterpret_cast<clock_gettime_fn>(::dlsym(RTLD_NEXT, "clock_gettime"));
  return fn;
}

std::atomic<long long> shift_ns{0};
std::atomic<long long> checked_ns{-1'000'000'000'000LL};
std::mutex reading;

long long monotonic_ns() {
  timespec ts{};
  real_clock_gettime()(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

long long current_shift() {
  const long long now = monotonic_ns();
  if (now - checked_ns.load() > 20'000'000LL && reading.try_lock()) {
    checked_ns = now;
    if (const char* path = std::getenv("TALLY_CLOCK_SHIFT_FILE")) {
      if (FILE* f = std::fopen(path, "re")) {
        double seconds = 0;
        if (std::fscanf(f, "%lf", &seconds) == 1) shift_ns = static_cast<long long>(seconds * 1e9);
        std::fclose(f);
      }
    }
    reading.unlock();
  }
  return shift_ns.load();
}

void shift(timespec* ts) {
  long long ns = ts->tv_sec * 1'000'000'000LL + ts->tv_nsec + current_shift();
  ts->tv_sec = static_cast<time_t>(ns / 1'000'000'000LL);
  ts->tv_nsec = static_cast<long>(ns % 1'000'000'000LL);
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t id, timespec* ts) noexcept {
  const int rc = real_clock_gettime()(id, ts);
  if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts);
  return rc;
}

int gettimeofday(struct timeval* tv, void*) noexcept {
  timespec ts{};
  const int rc = clock_gettime(CLOCK_REALTIME, &ts);
  if (rc == 0) {
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return rc;
}

time_t time(time_t* out) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out) *out = ts.tv_sec;
  return ts.tv_sec;
}

}  // extern "C"
