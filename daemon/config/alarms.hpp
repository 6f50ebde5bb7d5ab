#pragma once
// Readers of [[alarms]] and [[notify]], called by the configuration loader (config/config.cpp).
#include <toml++/toml.h>

#include <string>
#include <vector>

#include "alarms/rules.hpp"
#include "config/config.hpp"
#include "api/table_reader.hpp"

namespace tally {

// Rules naming a device `devices` does not have are errors.
std::vector<AlarmRule> read_alarm_rules(const toml::table& root, const std::vector<DeviceConfig>& devices,
                                        Diagnostics& diag);
// Reads each target's URL from its url_file (relative to `config_path`) or systemd credential.
std::vector<NotifyTarget> read_notify_targets(const toml::table& root, const std::string& config_path,
                                              Diagnostics& diag);

}  // namespace tally
