#pragma once
// The buffer's typed error: the database failed in a way its owner must handle (the file cannot be created, the
// disk is full on commit...). The station catches it and decides: retry with back-off, or raise buffer.disk.
#include <stdexcept>
#include <string>

namespace tally {

struct buffer_error : std::runtime_error {
  buffer_error(int sqlite_code, const std::string& what) : std::runtime_error(what), sqlite_code(sqlite_code) {}
  int sqlite_code;
};

}  // namespace tally
