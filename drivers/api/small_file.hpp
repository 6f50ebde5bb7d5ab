#pragma once
// Reading a small attribute file (sysfs: an IIO channel's _raw, a fake load cell's raw_file) from the event loop
// without ever blocking on it. A sysfs attribute is a regular file of at most one page (Documentation/filesystems/
// sysfs.rst: "the buffer is always PAGE_SIZE bytes"); a path that turns out to be a FIFO would block open() until a
// writer came and read() until it wrote, and a device node may never answer. So: opened O_NONBLOCK, checked to be a
// regular file with fstat() before any read, and read to at most `max` bytes.
#include <cstddef>
#include <string>

namespace tally {

struct SmallFile {
  std::string text;       // what was read (at most `max` bytes)
  int error = 0;          // errno of open/read; EISDIR for a directory, ENOTSUP for any other file that is not regular
  bool too_long = false;  // the file holds more than `max` bytes: `text` is not all of it
  std::size_t size = 0;   // the regular file's size when opened (fstat), for messages
  const char* kind = "";  // with ENOTSUP: what it is instead ("a FIFO", "a socket", "a device")
};

SmallFile read_small_file(const std::string& path, std::size_t max = 4096);

}  // namespace tally
