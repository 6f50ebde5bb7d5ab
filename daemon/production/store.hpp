#pragma once
// Where the production context lives in the buffer's state table: the document Production::save() writes (key
// "context") and one row per serial of the active work order (key kSerialPrefix + serial, value the unit number).
// A unit costs one row, not a rewrite of every serial so far; both are queued in the buffer and committed with the
// records beside them, so a unit and its serial row are committed together or not at all.
#include <optional>
#include <string>

#include "buffer/buffer.hpp"
#include "production/production.hpp"

namespace tally {

inline constexpr const char* kContextKey = "context";
// Serials are bounded by what carries them: a command (8 KiB) or a scan (4,096 characters).
inline constexpr const char* kSerialPrefix = "wo-serial/";
// The recipe the running batch started with, written once per batch (the context document names it by id).
inline constexpr const char* kBatchRecipeKey = "batch-recipe";

// Queues the context document and the serial rows changed since the last save.
void save_production(Production& production, Buffer& buffer);
// Restores the context and the serials at start. Returns a warning when the saved context could not be restored.
// Serials still inside an older document, and stale rows (no work order active), are written or erased at once.
std::optional<std::string> restore_production(Production& production, Buffer& buffer);

}  // namespace tally
