#include "small_fs.hpp"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace tally::test {

namespace {
[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

void private_mounts() {
  static bool done = false;
  if (done) return;
  if (unshare(CLONE_NEWNS) != 0) fail("unshare(CLONE_NEWNS) (the full-disk tests need root)");
  if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("mount --make-rprivate /");
  done = true;
}
}  // namespace

SmallFilesystem::SmallFilesystem(std::size_t bytes) {
  private_mounts();
  const char* base = std::getenv("TMPDIR");
  const std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/tally-fs-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (mkdtemp(name.data()) == nullptr) fail("mkdtemp " + pattern);
  path_ = name.data();
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
  if (mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) fail("mount tmpfs on " + path_);
}

SmallFilesystem::~SmallFilesystem() {
  umount2(path_.c_str(), MNT_DETACH);
  rmdir(path_.c_str());
}

std::size_t SmallFilesystem::fill() {
  const int fd = open(file("filler").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) fail("open filler");
  const std::vector<char> block(4096, 'f');
  std::size_t written = 0;
  for (;;) {
    const ssize_t n = write(fd, block.data(), block.size());
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  close(fd);
  filler_ += written;
  return written;
}

void SmallFilesystem::release(std::size_t bytes) {
  filler_ = bytes == 0 || bytes >= filler_ ? 0 : filler_ - bytes;
  if (truncate(file("filler").c_str(), static_cast<off_t>(filler_)) != 0) fail("truncate filler");
}

std::size_t SmallFilesystem::free_bytes() const {
  struct statvfs s{};
  if (statvfs(path_.c_str(), &s) != 0) return 0;
  return static_cast<std::size_t>(s.f_bavail) * s.f_frsize;
}

}  // namespace tally::test
