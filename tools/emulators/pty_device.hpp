#pragma once
// The device side of a pseudo-terminal: the emulator holds the master, the program under test opens the slave
// through a symlink (like /dev/serial/by-id/...). The slave starts raw, the master is non-blocking, and nothing an
// emulator sends ever blocks it: when nobody has the port open, or the reader does not keep up, data is dropped
// and counted, as a real device's UART would do.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tally::emu {

class PtyDevice {
 public:
  // Creates the pty and points `link` at the slave (replacing an existing symlink atomically; refuses to replace
  // anything that is not a symlink).
  explicit PtyDevice(std::string link);
  ~PtyDevice();  // closes the master (the reader sees a hang-up) and removes the link if it still points here
  PtyDevice(const PtyDevice&) = delete;
  PtyDevice& operator=(const PtyDevice&) = delete;

  const std::string& link() const { return link_; }
  const std::string& slave_path() const { return slave_; }
  int fd() const { return master_; }

  // Someone has the slave open (the master reports no hang-up).
  bool reader_present() const;

  enum class Sent { written, queued, dropped_no_reader, dropped_busy };
  // Sends `bytes` as one unit: all of it, or the rest is queued and flushed by flush() (call it when fd() is
  // writable). While something is queued, or nobody has the port open, the unit is dropped instead.
  Sent send(std::string_view bytes);
  bool flush();  // writes what is queued (or drops it if the reader has gone); true when nothing is left
  bool busy() const { return !pending_.empty(); }

  // Reads what the other side wrote (non-blocking); empty when nothing is there. For request/response devices.
  std::string receive();

  // Waits until the reader has consumed everything sent so far (up to `timeout`): call before exiting, since
  // closing the master discards unread data.
  bool drain(std::chrono::milliseconds timeout);

  struct Stats {
    std::uint64_t units_written = 0, bytes_written = 0, dropped_no_reader = 0, dropped_busy = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  std::string link_;
  std::string slave_;
  int master_ = -1;
  std::string pending_;
  Stats stats_;
};

}  // namespace tally::emu
