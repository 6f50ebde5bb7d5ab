#pragma once
// The retained state topics the station keeps besides alarms and outputs (PRODUCT.md "State topics"): B/status,
// B/context, B/devices/<device>/state, B/devices/<device>/recent and B/batches/last. Each is published when it
// changes, and all of them again on every (re)connect (republish()).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "buffer/buffer.hpp"
#include "devices/device_runner.hpp"
#include "mqtt/publisher.hpp"
#include "production/production.hpp"
#include "record/recent.hpp"

namespace tally {

class RetainedState {
 public:
  RetainedState(Publisher& publisher, Buffer& buffer, const Production& production);

  // B/status: {"online": true, "version", "since", "buffered"}; offline it is {"online": false} (also the will).
  json status(bool online) const;
  static std::string offline_status();
  void publish_status();
  void refresh_status();  // publishes B/status when "buffered" changed since the last one

  void publish_context();  // B/context, only when it changed

  static json device_state(const DeviceRunner& device);
  void publish_device_state(const DeviceRunner& device);
  // A reading device's last hour (docs/web.md): published when a bucket completes.
  void add_to_recent(const std::string& device, const Reading& r);
  void forget_device(const std::string& device);  // gone at a reload: its retained messages are deleted

  // B/batches/last: the latest batch record as B/batches carries it, kept in the buffer's state with the record and
  // published once committed (committed()).
  void restore_batch_last();
  void batch_ended(std::string record);
  void committed();

  // Everything again, for a new connection.
  void republish(const std::vector<std::unique_ptr<DeviceRunner>>& devices);

 private:
  void publish_recent(const std::string& device);

  Publisher& publisher_;
  Buffer& buffer_;
  const Production& production_;
  wall_time since_;
  std::int64_t status_buffered_ = -1;  // "buffered" in the last published status
  std::string published_context_;      // the last B/context payload
  std::map<std::string, RecentSeries> recent_;
  std::string batch_last_;
  bool batch_last_unpublished_ = false;
};

}  // namespace tally
