#pragma once
// A real pseudo-terminal standing in for a serial device. The test holds the master side; the daemon opens the
// slave through `link` (a symlink, like /dev/serial/by-id/...). unplug() closes the master and removes the link,
// exactly what the daemon sees when a USB adapter is pulled; plug() makes a new pty behind the same link.
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

  void write(std::string_view bytes);  // all of it, or throws
  // Reads what the other side wrote, waiting up to `timeout` for at least `min_bytes`.
  std::string read(std::chrono::milliseconds timeout, std::size_t min_bytes = 1);
  void unplug();
  void plug();
  bool plugged() const { return master_ >= 0; }

 private:
  void open_pty();
  std::string link_;
  int master_ = -1;
};

}  // namespace tally::test
