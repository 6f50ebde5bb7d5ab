#include "config/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tally {

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The type check below then refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = std::string("not a regular file (") +
            (S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" : S_ISSOCK(st.st_mode) ? "a socket" : "a device") +
            ")";
    return std::nullopt;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    error = std::to_string(st.st_size) + " bytes, more than the " + std::to_string(max_bytes) + " read";
    return std::nullopt;
  }
  // The size may change under us (someone writing it): never read past the bound, whatever fstat said.
  std::string text(max_bytes + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) {
    error = "more than the " + std::to_string(max_bytes) + " bytes read";
    return std::nullopt;
  }
  text.resize(got);
  return text;
}

std::optional<std::string> read_first_line(const std::string& path, std::size_t max_bytes, std::string& error) {
  auto text = read_small_file(path, max_bytes, error);
  if (!text) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

}  // namespace tally
