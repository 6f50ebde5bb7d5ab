#include "temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace tally::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  const std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/tally-test-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (mkdtemp(name.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  path_ = name.data();
}

TempDir::~TempDir() {
  try {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  } catch (...) {
    // A destructor must not throw; a leftover directory in /tmp is harmless.
  }
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string path = file(name);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace tally::test
