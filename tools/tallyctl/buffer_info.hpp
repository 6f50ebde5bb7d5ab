#pragma once
// `tallyctl buffer`: what a station's buffer holds, read straight from its SQLite file (tallyd need not run, nor a
// broker be reachable). The schema is tallyd's (daemon/buffer/schema.hpp).
#include <string>

namespace tallyctl {

// Prints depth, seq range, oldest record and size of the buffer at `path` to stdout; returns the exit code
// (0, or 3 when the file cannot be read, with the reason on stderr).
int print_buffer(const std::string& path);

// [buffer] path from the station's configuration (tallyd's default when the file or the key is missing). Only that key
// is read: the rest of the file (a password file root alone can read, say) does not matter here.
std::string buffer_path_from_config(const std::string& config_path);

}  // namespace tallyctl
