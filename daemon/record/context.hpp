#pragma once
// The station's production context: what every record is stamped with. Issue #4 gives it its state machine;
// here it is only the data the stamping step reads.
#include <cstdint>
#include <optional>
#include <string>

namespace tally {

enum class Mode { process, discrete };

struct StationContext {
  Mode mode = Mode::process;
  std::string operator_id;               // "operator"
  // process mode
  std::string batch, recipe, step;
  int step_no = 0;                       // 1-based; 0 = no active step
  // discrete mode
  std::string work_order;
  std::int64_t unit_no = 0;              // "unit_no": number of the latest registered unit, 0 before the first
  std::string serial;                    // serial of the latest unit
};

}  // namespace tally
