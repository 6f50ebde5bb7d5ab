#include "config/small_file.hpp"

#include <cerrno>
#include <cstring>

#include "api/small_file.hpp"

namespace tally {

// The driver contract's reader does the non-blocking, regular-files-only, bounded read; here its result becomes
// the reason a configuration problem states.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error) {
  SmallFile f = read_small_file(path, max_bytes);
  if (f.error == EISDIR) {
    error = "not a regular file (a directory)";
  } else if (f.error == ENOTSUP) {
    error = std::string("not a regular file (") + f.kind + ")";
  } else if (f.error != 0) {
    error = std::strerror(f.error);
  } else if (f.too_long) {
    error = f.size > max_bytes ? std::to_string(f.size) + " bytes, more than the " + std::to_string(max_bytes) + " read"
                               : "more than the " + std::to_string(max_bytes) + " bytes read";  // it grew meanwhile
  } else {
    return std::move(f.text);
  }
  return std::nullopt;
}

std::optional<std::string> read_first_line(const std::string& path, std::size_t max_bytes, std::string& error) {
  auto text = read_small_file(path, max_bytes, error);
  if (!text) return std::nullopt;
  std::string line = text->substr(0, text->find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  return line;
}

}  // namespace tally
