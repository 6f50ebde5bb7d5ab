#include "buffer/space_reserve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace tally {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::uint64_t allocated_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  // Blocks, not the length: a sparse file would free nothing when deleted.
  return std::min<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_blocks) * 512);
}

}  // namespace

SpaceReserve::SpaceReserve(std::string path, std::uint64_t bytes)
    : path_(std::move(path)), bytes_(bytes), size_(allocated_size(path_)) {}

void SpaceReserve::restore(std::uint64_t headroom) noexcept {
  if (size_ >= bytes_) return;
  struct statvfs fs {};
  if (::statvfs(directory_of(path_).c_str(), &fs) != 0) return;
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes <= headroom) return;
  // Whole 4 KiB blocks: the filesystem allocates no less.
  const std::uint64_t grow = std::min(bytes_ - size_, free_bytes - headroom) / 4096 * 4096;
  if (grow == 0) return;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::posix_fallocate(fd, static_cast<off_t>(size_), static_cast<off_t>(grow)) != 0)
    (void)::ftruncate(fd, static_cast<off_t>(size_));  // what was allocated of a failed call is not counted on
  ::close(fd);
  size_ = allocated_size(path_);
}

bool SpaceReserve::release() noexcept {
  const bool had = size_ > 0;
  ::unlink(path_.c_str());
  size_ = 0;
  return had;
}

}  // namespace tally
