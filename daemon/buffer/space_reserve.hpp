#pragma once
// Disk space held in a file beside the buffer ("<buffer path>.reserve") and lent to SQLite when the disk is full.
//
// Why: in WAL mode every write, a DELETE too, first appends frames to the WAL, and a checkpoint may have to grow the
// database file by the pages the WAL holds beyond its end. With the filesystem at 0 bytes free, a WAL full of such
// frames can be neither checkpointed nor added to: delivered records cannot be deleted, and the buffer stays wedged
// after the broker is back and every record has been delivered (seen with a 4 MB filesystem). Released, the reserve
// lets that write and the checkpoint after it through; the checkpoint truncates the WAL, and the reserve grows back
// into the space that gives back. New records may borrow it only for their WAL frames (Buffer::commit_while_failing).
#include <cstdint>
#include <string>

namespace tally {

class SpaceReserve {
 public:
  SpaceReserve(std::string path, std::uint64_t bytes);  // adopts an existing file; creates nothing yet
  // Grows the file (blocks allocated with posix_fallocate) towards `bytes`, leaving `headroom` bytes of the
  // filesystem free. Never throws; the reserve may stay smaller than asked.
  void restore(std::uint64_t headroom) noexcept;
  // Deletes the file, freeing its blocks. False when there was nothing to free. Never throws.
  bool release() noexcept;
  std::uint64_t size() const noexcept { return size_; }  // bytes held now
  std::uint64_t bytes() const noexcept { return bytes_; }  // bytes wanted
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::uint64_t bytes_;
  std::uint64_t size_ = 0;
};

}  // namespace tally
