#include "loop/clock.hpp"

#include <sys/timex.h>

namespace tally {

bool clock_synchronised() noexcept {
  timex tx{};
  // adjtimex() answers TIME_ERROR while STA_UNSYNC is set: no time daemon has disciplined the clock yet.
  return ::adjtimex(&tx) != TIME_ERROR;
}

}  // namespace tally
