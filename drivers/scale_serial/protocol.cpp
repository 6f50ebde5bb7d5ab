// The protocol table: what each scale is sent. Commands end in CR LF everywhere (MT-SICS requires it; Ohaus accepts
// CR or CR LF; Sartorius SBI and the others ignore the line end after a command they recognise).
#include <array>

#include "scale_serial/protocol.hpp"

namespace tally::scale_serial {

namespace {
constexpr std::array kProtocols{
    // MT-SICS: SI = the weight now (stable or dynamic); SIR = SI repeated until the next command; T answers
    // "T S <tare> g", Z answers "Z A" (or I/+/- when refused).
    ProtocolInfo{"mt-sics", "MT-SICS", &parse_mt_sics, "SI\r\n", "SIR\r\n", "T\r\n", "Z\r\n", true},
    // A&D: Q = the weight now; T = TARE key; R = RE-ZERO key. No reply unless the ACK setting is on (unsure), errors
    // as "EC,Exx". Stream mode is a menu setting.
    ProtocolInfo{"and", "A&D", &parse_and, "Q\r\n", "", "T\r\n", "R\r\n", false},
    // Ohaus: P = print, T = tare, Z = zero (Scout/Ranger; not in every model's manual: unsure). Continuous output
    // ("CA") is left to the menu, as it changes the scale's print setting.
    ProtocolInfo{"ohaus", "Ohaus", &parse_ohaus, "P\r\n", "", "T\r\n", "Z\r\n", false},
    // Sartorius SBI: ESC P = print, ESC U = tare, ESC V = zero (ESC T would be the combined tare/zero key).
    ProtocolInfo{"sartorius", "Sartorius", &parse_sartorius, "\x1bP\r\n", "", "\x1bU\r\n", "\x1bV\r\n", false},
    // Adam: P = print, T = tare, Z = zero.
    ProtocolInfo{"adam", "Adam", &parse_adam, "P\r\n", "", "T\r\n", "Z\r\n", false},
};
}  // namespace

std::span<const ProtocolInfo> protocols() { return kProtocols; }

const ProtocolInfo* find_protocol(std::string_view name) {
  for (const auto& p : kProtocols)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace tally::scale_serial
