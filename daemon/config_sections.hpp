#pragma once
// The readers of [station], [mqtt] and [buffer], shared by the daemon's full loader (config.cpp) and by clients
// that only need to reach the station (tallyctl): those link no driver.
#include <string>
#include <string_view>

#include "config.hpp"
#include "table_reader.hpp"

namespace tally {

// Reads [station] (required), [mqtt] and [buffer] into `config` (config.path set by the caller), marking them
// consumed in `top`.
void read_sections(const toml::table& root, TableReader& top, Diagnostics& diag, Config& config);
toml::table parse_toml(std::string_view text, Diagnostics& diag);  // throws config_error with the position
std::string read_config_file(const std::string& path);              // throws config_error
bool matches_regex(const std::string& s, const char* re);

// [station] and [mqtt] of the file (and [buffer]), validated; devices, recipes and rules are not read.
Config load_connection_config(const std::string& path);

}  // namespace tally
