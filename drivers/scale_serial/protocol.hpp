#pragma once
// Bench-scale protocols: one pure parser per protocol (one line in, one ScaleFrame out, no I/O) and the bytes each
// protocol sends for a weight request, tare and zero. The driver (scale_serial.cpp) does the port I/O, polling and
// command matching; everything here is tested with byte vectors (drivers/scale_serial/test_scale_parsers.cpp).
//
// Lines reach a parser without their terminator (the LineSplitter strips CR/LF). A parser never throws: anything
// that is not a frame of its protocol comes back as FrameKind::garbage with the reason, which the driver counts
// through sink.dropped().
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tally::scale_serial {

enum class FrameKind {
  weight,   // a weight: value, unit (may be empty where the protocol omits it), stable
  fault,    // in place of a weight: overload, underload or a scale error code (`reason`)
  busy,     // the scale answered but has no value now (MT-SICS "S I")
  ack,      // a command succeeded (MT-SICS "T S <tare> g", "Z A"); `command` says which
  refused,  // a command was refused (MT-SICS "Z +", "T I"); `command` says which, `reason` why
  error,    // an error reply to whatever was sent last (MT-SICS ES/ET/EL, A&D "EC,Exx", Ohaus "ES")
  info,     // a valid reply that carries no weight (MT-SICS `I4 A "..."`, an A&D ACK byte)
  garbage,  // not a frame of this protocol; `reason` says why
};

struct ScaleFrame {
  FrameKind kind = FrameKind::garbage;
  std::optional<double> value;  // weight, and the tare weight of an MT-SICS "T S" ack
  int decimals = 0;             // digits after the point as printed: the resolution, kept through unit conversion
  std::string unit;             // as printed, normalised to lower case ("g", "kg", "lb", "oz", "pcs"...); "" if none
  bool stable = false;          // true only when the frame says so
  std::string command;          // ack/refused/busy: the command answered ("S", "T", "Z")
  std::string reason;           // fault: "overload"...; refused/error: readable why; garbage: why it was rejected
};

ScaleFrame parse_mt_sics(std::string_view line);
ScaleFrame parse_and(std::string_view line);
ScaleFrame parse_ohaus(std::string_view line);
ScaleFrame parse_sartorius(std::string_view line);
ScaleFrame parse_adam(std::string_view line);

struct ProtocolInfo {
  std::string_view name;   // as written in `protocol = "..."`
  std::string_view title;  // for people: "MT-SICS", "A&D"...
  ScaleFrame (*parse)(std::string_view line);
  std::string_view poll;    // the weight request sent every poll_ms
  std::string_view stream;  // sent on open when poll_ms = 0 ("" = the scale streams by its own menu setting)
  std::string_view tare;
  std::string_view zero;
  // True: the scale answers tare/zero itself (MT-SICS). False: it does not, so a command is ok once it was written
  // and a weight frame taken after it arrived (an error reply such as A&D "EC,E11" still refuses it).
  bool answers_commands;
};

std::span<const ProtocolInfo> protocols();
const ProtocolInfo* find_protocol(std::string_view name);

}  // namespace tally::scale_serial
