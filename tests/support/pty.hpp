#pragma once
// A real pseudo-terminal standing in for a serial device. The test holds the master side; the daemon opens the
// slave through `link` (a symlink, like /dev/serial/by-id/...). unplug() closes the master and removes the link,
// exactly what the daemon sees when a USB adapter is pulled; plug() makes a new pty behind the same link.
//
// Linux pty behaviour a test relies on (kernel 6.x):
// - The slave is set raw at creation and keeps that until someone changes it (settings live while the master does).
// - Bytes written before the daemon opens the slave are kept and delivered when it opens it (unless it flushes).
// - Closing the master (unplug) DISCARDS whatever the daemon has not read yet; the daemon's read() then returns 0
//   (EOF) and poll() reports POLLHUP|POLLERR (not EIO on this kernel). Use wait_drained() before unplug() if the
//   daemon must see everything written.
// - While nobody has the slave open, reading the master fails with EIO: read() treats that as "nothing yet".
#include <chrono>
#include <string>
#include <string_view>

namespace tally::test {

class Pty {
 public:
  explicit Pty(std::string link);  // creates the pty and the symlink
  ~Pty();
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  const std::string& link() const { return link_; }
  std::string slave_path() const;
  int master_fd() const { return master_; }

  void write(std::string_view bytes);  // all of it, or throws (after 5 s with the buffer full, or when unplugged)
  // Reads what the other side wrote, waiting up to `timeout` for at least `min_bytes`.
  std::string read(std::chrono::milliseconds timeout, std::size_t min_bytes = 1);
  // Waits until the other side has read everything written so far (the slave's input queue is empty); false on
  // timeout. Briefly opens the slave itself (O_NOCTTY) to ask; as non-root that fails if the reader set TIOCEXCL.
  bool wait_drained(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void unplug();
  void plug();
  bool plugged() const { return master_ >= 0; }

 private:
  void open_pty();
  std::string link_;
  int master_ = -1;
};

}  // namespace tally::test
