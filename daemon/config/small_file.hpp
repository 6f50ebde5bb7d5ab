#pragma once
// Files the configuration names (the configuration itself, password_file, url_file, credentials, TLS files) are
// read through here: opened without blocking and read only up to a bound. A FIFO in place of a url_file froze the
// event loop and --check-config; a 300 MB url_file was read whole (531 MB resident) before its length check, and
// /dev/zero until memory ran out.
#include <cstddef>
#include <optional>
#include <string>

namespace tally {

// Over the driver contract's read_small_file (api/small_file.hpp), which does the reading; this one states why not.
// The file's contents, or nullopt with `error` set to the reason, for the caller to put after the path: the
// system's ("No such file or directory"), "not a regular file (a FIFO)", "N bytes, more than the M read". Only
// regular files are read: a FIFO, a socket or a device is refused at once.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes, std::string& error);

// The first line of such a file, without a trailing CR, spaces or tabs (a token file written by `echo` or an
// editor), or nullopt with `error` set.
std::optional<std::string> read_first_line(const std::string& path, std::size_t max_bytes, std::string& error);

constexpr std::size_t kMaxConfigBytes = 1u << 20;  // a station's configuration is a few KB; recipes make it tens
constexpr std::size_t kMaxSecretBytes = 4096 + 2;  // a password, a URL with its token (URLs: 4,096), a newline

}  // namespace tally
