#pragma once
// A small, real filesystem to fill up: a tmpfs of a given size mounted on a fresh directory, in a mount namespace
// of this test process's own (unshare(CLONE_NEWNS)), so that nothing outside sees it and it goes away with the
// process. Children (tallyd) inherit the namespace. Needs CAP_SYS_ADMIN (CI runs as root); throws otherwise.
#include <cstddef>
#include <string>

namespace tally::test {

class SmallFilesystem {
 public:
  explicit SmallFilesystem(std::size_t bytes);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes a filler file until the filesystem is full; returns how many bytes it took.
  std::size_t fill();
  // Gives `bytes` of the filler back (all of it when 0).
  void release(std::size_t bytes = 0);
  std::size_t free_bytes() const;

 private:
  std::string path_;
  std::size_t filler_ = 0;
};

}  // namespace tally::test
