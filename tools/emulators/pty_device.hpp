#pragma once
// The device side of a pseudo-terminal (the rig's Pty: raw slave, non-blocking master, a symlink as the port, like
// /dev/serial/by-id/...), with what an emulator adds: nothing it sends ever blocks it. When nobody has the port
// open, or the reader does not keep up, data is dropped and counted, as a real device's UART would do.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rig/pty.hpp"

namespace tally::emu {

class PtyDevice {
 public:
  // Creates the pty and points `link` at the slave (replacing an existing symlink atomically; refuses to replace
  // anything that is not a symlink). Destruction closes the master (the reader sees a hang-up) and removes the link if it still points here.
  explicit PtyDevice(std::string link) : pty_(std::move(link)) {}

  const std::string& link() const { return pty_.link(); }
  std::string slave_path() const { return pty_.slave_path(); }
  int fd() const { return pty_.master_fd(); }

  // Someone has the slave open (the master reports no hang-up).
  bool reader_present() const { return pty_.reader_present(); }

  enum class Sent { written, queued, dropped_no_reader, dropped_busy };
  // Sends `bytes` as one unit: all of it, or the rest is queued and flushed by flush() (call it when fd() is
  // writable). While something is queued, or nobody has the port open, the unit is dropped instead.
  Sent send(std::string_view bytes);
  bool flush();  // writes what is queued (or drops it if the reader has gone); true when nothing is left
  bool busy() const { return !pending_.empty(); }

  // Reads what the other side wrote (non-blocking); empty when nothing is there. For request/response devices.
  std::string receive() { return pty_.read_available(); }

  // Waits until the reader has consumed everything sent so far (up to `timeout`): call before exiting, since
  // closing the master discards unread data.
  bool drain(std::chrono::milliseconds timeout);

  struct Stats {
    std::uint64_t units_written = 0, bytes_written = 0, dropped_no_reader = 0, dropped_busy = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  rig::Pty pty_;
  std::string pending_;
  Stats stats_;
};

}  // namespace tally::emu
