#pragma once
// A real pseudo-terminal standing in for a serial device. The holder (a test, an emulator, the benchmark's feeder)
// has the master side; the program under test opens the slave through `link`, a symlink as /dev/serial/by-id/... is.
// The slave is raw from creation and the master non-blocking. unplug() closes the master and removes the link,
// exactly what the reader sees when a USB adapter is pulled; plug() makes a new pty behind the same link.
//
// Linux pty behaviour its users rely on (kernel 6.x):
// - The slave's raw settings last until someone changes them (they live while the master does).
// - Bytes written before the reader opens the slave are kept and delivered when it opens it (unless it flushes).
// - Closing the master (unplug) DISCARDS whatever the reader has not read yet; the reader's read() then returns 0
//   (EOF) and poll() reports POLLHUP|POLLERR (not EIO on this kernel). Use wait_drained() before unplug() if the
//   reader must see everything written.
// - While nobody has the slave open, the master polls POLLHUP (reader_present() is false) and reading it fails
//   with EIO: the reads here treat that as "nothing yet".
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tally::rig {

class Pty {
 public:
  // Creates the pty and points `link` at its slave, replacing an existing symlink atomically (a reader never sees it
  // missing); throws when something other than a symlink is at `link`.
  explicit Pty(std::string link);
  ~Pty();  // unplug()
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;

  const std::string& link() const { return link_; }
  std::string slave_path() const;  // throws when unplugged
  int master_fd() const { return master_; }
  bool plugged() const { return master_ >= 0; }
  // Closes the master (the reader sees a hang-up) and removes the link if it still points at this pty.
  void unplug();
  void plug();
  bool reader_present() const;  // someone has the slave open

  // Without waiting: writes what the master takes now and returns how much (0 when its buffer is full or nobody
  // has the slave open), or reads what is there ("" when nothing is).
  std::size_t write_some(std::string_view bytes);
  std::string read_available();

  // Writes all of it, or throws (after 5 s with the buffer full, or when unplugged).
  void write(std::string_view bytes);
  // Reads what the other side wrote, waiting up to `timeout` for at least `min_bytes`.
  std::string read(std::chrono::milliseconds timeout, std::size_t min_bytes = 1);

  // Bytes written that the reader has not read yet (the slave's input queue); nullopt when the slave cannot be
  // opened to ask (unplugged, or as non-root when the reader set TIOCEXCL).
  std::optional<int> unread() const;
  // Waits until the reader has read everything written so far; false on timeout or when unplugged. Briefly opens the
  // slave itself (O_NOCTTY) to ask; throws std::system_error when it cannot (see unread()).
  bool wait_drained(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  void open_pty();
  std::string link_;
  std::string slave_;
  int master_ = -1;
};

}  // namespace tally::rig
