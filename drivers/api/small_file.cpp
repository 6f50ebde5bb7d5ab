#include "small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "unique_fd.hpp"

namespace tally {

SmallFile read_small_file(const std::string& path, std::size_t max) {
  SmallFile f;
  // O_NONBLOCK: open() of a FIFO returns at once instead of waiting for a writer; O_NOCTTY: a tty never becomes ours.
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) return f.error = errno, f;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return f.error = errno, f;
  if (S_ISDIR(st.st_mode)) return f.error = EISDIR, f;
  if (!S_ISREG(st.st_mode)) {  // FIFO, socket, device node: not an attribute file
    f.kind = S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device";
    return f.error = ENOTSUP, f;
  }
  f.size = static_cast<std::size_t>(st.st_size);
  std::string buf(max + 1, '\0');
  std::size_t got = 0;
  while (got < buf.size()) {  // a regular file never blocks; sysfs hands over an attribute in one read
    const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return f.error = errno, f;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  f.too_long = got > max;
  buf.resize(std::min(got, max));
  f.text = std::move(buf);
  return f;
}

}  // namespace tally
