#pragma once
// The tests' child process is the rig's (tools/rig/process.hpp: log file, kill and reap on destruction, waits with
// deadlines).
#include "rig/process.hpp"

namespace tally::test {
using rig::Process;
}  // namespace tally::test
