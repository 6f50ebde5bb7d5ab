#pragma once
// The readers of the file's parts. [station], [mqtt] and [buffer] (sections.cpp) are shared by the daemon's full
// loader (config.cpp) and by clients that only need to reach the station (tallyctl): those link no driver. The
// others are called by config.cpp alone, each defined in the file named beside it.
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "api/table_reader.hpp"

namespace tally {

// Reads [station] (required), [mqtt] and [buffer] into `config` (config.path set by the caller), marking them
// consumed in `top`.
void read_sections(const toml::table& root, TableReader& top, Diagnostics& diag, Config& config);
toml::table parse_toml(std::string_view text, Diagnostics& diag);  // throws config_error with the position
std::string read_config_file(const std::string& path);              // throws config_error
bool matches_regex(const std::string& s, const char* re);

// Reads [[recipes]] (recipes.cpp): every problem reported with its position; steps naming a device
// that `devices` does not have are errors.
std::vector<Recipe> read_recipes(const toml::table& root, const std::vector<DeviceConfig>& devices, Diagnostics& diag);

// Reads [[scan_rules]] (scan_rules.cpp): patterns checked (syntax, length, nesting) with their
// position, actions must be production commands.
std::vector<scan::ScanRule> read_scan_rules(const toml::table& root, Diagnostics& diag);
// Reads [[outputs]] (outputs.cpp); every problem reported with its position.
std::vector<OutputConfig> read_outputs(const toml::table& root, Diagnostics& diag);

// [station] and [mqtt] of the file (and [buffer]), validated; devices, recipes and rules are not read.
Config load_connection_config(const std::string& path);

}  // namespace tally
