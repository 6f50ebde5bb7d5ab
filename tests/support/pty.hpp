#pragma once
// The tests' pseudo-terminal is the rig's (tools/rig/pty.hpp: raw slave, non-blocking master, a symlink as the
// port, unplug/plug and the Linux behaviour they rely on).
#include "rig/pty.hpp"

namespace tally::test {
using rig::Pty;
}  // namespace tally::test
