// The scale protocol parsers with byte vectors: every protocol's stable, unstable, negative, overload, underload and
// error lines, lines split across reads and joined in one read, and garbage. Pure: no port, no clock.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "scale_serial/protocol.hpp"
#include "scale_serial/units.hpp"
#include "serial/line_splitter.hpp"

using namespace tally;
using namespace tally::scale_serial;
using Kind = FrameKind;

namespace {

// Feeds `chunks` as separate reads through the line splitter and parses every complete line.
std::vector<ScaleFrame> frames(std::string_view protocol, const std::vector<std::string>& chunks) {
  const ProtocolInfo* p = find_protocol(protocol);
  REQUIRE(p != nullptr);
  LineSplitter splitter;
  std::vector<std::string> lines;
  for (const auto& c : chunks) splitter.feed(c, lines);
  std::vector<ScaleFrame> out;
  for (const auto& l : lines) out.push_back(p->parse(l));
  return out;
}

void check_weight(const ScaleFrame& f, double value, const std::string& unit, bool stable, int decimals) {
  INFO("reason: " << f.reason);
  REQUIRE(f.kind == Kind::weight);
  CHECK(f.value == Approx(value).margin(1e-12));
  CHECK(f.unit == unit);
  CHECK(f.stable == stable);
  CHECK(f.decimals == decimals);
}

void check_fault(const ScaleFrame& f, const std::string& reason) {
  REQUIRE(f.kind == Kind::fault);
  CHECK(f.reason == reason);
  CHECK_FALSE(f.value);
}

}  // namespace

TEST_CASE("MT-SICS weight replies: stable, dynamic, negative, overload, underload, busy") {
  check_weight(parse_mt_sics("S S     100.00 g"), 100.0, "g", true, 2);
  check_weight(parse_mt_sics("S D      12.34 g"), 12.34, "g", false, 2);
  check_weight(parse_mt_sics("S S     -5.678 kg"), -5.678, "kg", true, 3);
  check_weight(parse_mt_sics("S S    -   5.6 g"), -5.6, "g", true, 1);   // sign standing alone
  check_weight(parse_mt_sics("S A     100.00 g"), 100.0, "g", true, 2);   // "A" where others see "S"
  check_weight(parse_mt_sics("S S 0.0000 lb"), 0.0, "lb", true, 4);
  check_fault(parse_mt_sics("S +"), "overload");
  check_fault(parse_mt_sics("S -"), "underload");
  const auto busy = parse_mt_sics("S I");
  CHECK(busy.kind == Kind::busy);
  CHECK(busy.command == "S");
}

TEST_CASE("MT-SICS command replies: tare and zero accepted and refused, error replies") {
  const auto tare = parse_mt_sics("T S      12.50 g");
  REQUIRE(tare.kind == Kind::ack);
  CHECK(tare.command == "T");
  CHECK(tare.value == 12.5);
  CHECK(tare.unit == "g");
  CHECK(parse_mt_sics("T A      12.50 g").kind == Kind::ack);  // one parser's tests use "T A"

  const auto zeroed = parse_mt_sics("Z A");
  CHECK(zeroed.kind == Kind::ack);
  CHECK(zeroed.command == "Z");
  CHECK(parse_mt_sics("ZI D").kind == Kind::ack);

  const auto over = parse_mt_sics("Z +");
  REQUIRE(over.kind == Kind::refused);
  CHECK(over.command == "Z");
  CHECK(over.reason == "overload (Z +)");
  CHECK(parse_mt_sics("Z -").reason == "underload (Z -)");
  CHECK(parse_mt_sics("Z I").reason == "busy or no stable weight in time (Z I)");
  const auto tare_busy = parse_mt_sics("T I");
  CHECK(tare_busy.kind == Kind::refused);
  CHECK(tare_busy.command == "T");
  CHECK(parse_mt_sics("T +").reason == "overload (T +)");

  CHECK(parse_mt_sics("ES").kind == Kind::error);
  CHECK(parse_mt_sics("ES").reason == "syntax error (ES)");
  CHECK(parse_mt_sics("ET").reason == "transmission error (ET)");
  CHECK(parse_mt_sics("EL").reason == "logical error (EL)");
  CHECK(parse_mt_sics("I4 A \"B021002593\"").kind == Kind::info);
}

TEST_CASE("MT-SICS garbage is rejected, not guessed") {
  CHECK(parse_mt_sics("").kind == Kind::garbage);
  CHECK(parse_mt_sics("S S abc g").kind == Kind::garbage);
  CHECK(parse_mt_sics("S S 1.2.3 g").kind == Kind::garbage);
  CHECK(parse_mt_sics("S Q 12.00 g").kind == Kind::garbage);
  CHECK(parse_mt_sics("HELLO WORLD").kind == Kind::garbage);
  CHECK(parse_mt_sics("S S\x01\xff 12.00 g").reason == "noise");
  CHECK(parse_mt_sics("XX").kind == Kind::garbage);
}

TEST_CASE("MT-SICS lines split across reads and joined in one read") {
  const auto f = frames("mt-sics", {"S S     1", "00.00 g\r\nS D      1", "2.00 g\r\nZ A\r\nS +\r\n"});
  REQUIRE(f.size() == 4);
  check_weight(f[0], 100.0, "g", true, 2);
  check_weight(f[1], 12.0, "g", false, 2);
  CHECK(f[2].kind == Kind::ack);
  check_fault(f[3], "overload");
  // Noise between frames costs only the noisy line.
  const auto g = frames("mt-sics", {"\xfe\xff\x01\r\nS S      1.00 g\r", "\n"});
  REQUIRE(g.size() == 2);
  CHECK(g[0].kind == Kind::garbage);
  check_weight(g[1], 1.0, "g", true, 2);
}

TEST_CASE("A&D 17-byte frames: ST stable, US unstable, negative, OL, comparator and indicator headers") {
  const std::string line = "ST,+00123.45  g\r\n";
  CHECK(line.size() == 17);  // header(2) "," data(9) unit(3) CR LF
  check_weight(parse_and("ST,+00123.45  g"), 123.45, "g", true, 2);
  check_weight(parse_and("US,+00012.30  g"), 12.3, "g", false, 2);
  check_weight(parse_and("ST,-00001.20  g"), -1.2, "g", true, 2);
  check_weight(parse_and("ST,+0001.234 kg"), 1.234, "kg", true, 3);
  check_weight(parse_and("ST,OK,+0001.234 kg"), 1.234, "kg", true, 3);  // comparator result
  check_weight(parse_and("ST,NT,+0012.34kg"), 12.34, "kg", true, 2);    // indicator: net, unit glued on
  check_weight(parse_and("US,GS,-0000.50 lb"), -0.5, "lb", false, 2);
  check_fault(parse_and("OL,+999999.9  g"), "overload");
  check_fault(parse_and("OL,-999999.9  g"), "underload");
  // A count is not a mass: the parser reports it with its unit (the driver counts it as "not converted").
  check_weight(parse_and("QT,+0000123 PC"), 123, "pcs", true, 0);
  CHECK_FALSE(grams_per("pcs"));
}

TEST_CASE("A&D error replies, ACK and garbage") {
  const auto e = parse_and("EC,E11");
  REQUIRE(e.kind == Kind::error);
  CHECK(e.reason == "stability error: weight not stable (EC,E11)");
  CHECK(parse_and("EC,E01").reason == "undefined command (EC,E01)");
  CHECK(parse_and("\x06").kind == Kind::info);
  check_weight(parse_and("\x06ST,+00001.00  g"), 1.0, "g", true, 2);  // ACK glued to the next frame
  CHECK(parse_and("XX,+00001.00  g").kind == Kind::garbage);
  CHECK(parse_and("ST,+000x1.00  g").kind == Kind::garbage);
  CHECK(parse_and("ST,").kind == Kind::garbage);
  CHECK(parse_and("ST+00001.00  g").kind == Kind::garbage);
  CHECK(parse_and("ST,+0\x90\x01.00  g").reason == "noise");
}

TEST_CASE("A&D stream: split and joined frames") {
  const auto f = frames("and", {"ST,+00001.00  g\r\nUS,+000", "02.00  g\r\nST,+00003.00  g\r", "\nOL,+999999.9  g\r\n"});
  REQUIRE(f.size() == 4);
  check_weight(f[0], 1.0, "g", true, 2);
  check_weight(f[1], 2.0, "g", false, 2);
  check_weight(f[2], 3.0, "g", true, 2);
  check_fault(f[3], "overload");
}

TEST_CASE("Ohaus lines: stable, unstable '?', negative, NET, overload, error reply") {
  check_weight(parse_ohaus("      12.73 g    ?"), 12.73, "g", false, 2);
  check_weight(parse_ohaus("       0.00 g"), 0.0, "g", true, 2);
  check_weight(parse_ohaus("     -12.73 g"), -12.73, "g", true, 2);
  check_weight(parse_ohaus("-      1.5 kg   ?"), -1.5, "kg", false, 1);
  check_weight(parse_ohaus("     100.0 g  NET"), 100.0, "g", true, 1);
  check_weight(parse_ohaus("    0.2205 lb ? NET"), 0.2205, "lb", false, 4);
  check_weight(parse_ohaus("      1.00 g?"), 1.0, "g", false, 2);
  check_fault(parse_ohaus("        OL g"), "overload");
  check_fault(parse_ohaus("        UL g"), "underload");
  CHECK(parse_ohaus("ES").kind == Kind::error);
  CHECK(parse_ohaus("      12.73").kind == Kind::garbage);     // no unit
  CHECK(parse_ohaus("    abc g").kind == Kind::garbage);
  CHECK(parse_ohaus("  1\x80 g").kind == Kind::garbage);
  const auto f = frames("ohaus", {"      12.7", "3 g    ?\r\n       0.00 g\r\n"});
  REQUIRE(f.size() == 2);
  check_weight(f[0], 12.73, "g", false, 2);
  check_weight(f[1], 0.0, "g", true, 2);
}

TEST_CASE("Sartorius SBI 16-character lines: unit only when stable, H, L, Err") {
  const std::string line = "+   1255.7 g  \r\n";
  CHECK(line.size() == 16);  // sign, space, 8 weight, space, 3 unit, CR LF (computed)
  check_weight(parse_sartorius("+   1255.7 g  "), 1255.7, "g", true, 1);
  check_weight(parse_sartorius("+   1255.7    "), 1255.7, "", false, 1);  // unstable: no unit
  check_weight(parse_sartorius("-     12.5 g  "), -12.5, "g", true, 1);
  check_weight(parse_sartorius("    0.0000 kg "), 0.0, "kg", true, 4);
  check_weight(parse_sartorius("N     +   1255.7 g  "), 1255.7, "g", true, 1);  // 22-character format
  check_fault(parse_sartorius("+        H    "), "overload");
  check_fault(parse_sartorius("-        L    "), "underload");
  check_fault(parse_sartorius("   Err 101     "), "error 101");
  CHECK(parse_sartorius("  ------      ").kind == Kind::busy);
  CHECK(parse_sartorius("+   12x5.7 g  ").kind == Kind::garbage);
  CHECK(parse_sartorius("+   1255.7 g kg").kind == Kind::garbage);
  CHECK(parse_sartorius("\x1b\x02+  1.0 g").kind == Kind::garbage);
  const auto f = frames("sartorius", {"+   1255.7 g  \r\n+   12", "55.8    \r\n"});
  REQUIRE(f.size() == 2);
  check_weight(f[1], 1255.8, "", false, 1);
}

TEST_CASE("Adam lines: weight and unit, negative, no stability mark, overload") {
  check_weight(parse_adam("      123.45 g "), 123.45, "g", false, 2);  // plain format: the scale does not say
  check_weight(parse_adam("     -123.45 g "), -123.45, "g", false, 2);
  check_weight(parse_adam("-     0.500 kg "), -0.5, "kg", false, 3);
  check_weight(parse_adam("ST,GS,   123.45 g"), 123.45, "g", true, 2);  // indicator style header
  check_weight(parse_adam("US,GS,   123.45,g"), 123.45, "g", false, 2);
  check_fault(parse_adam("          OL g "), "overload");
  check_fault(parse_adam("          UL g "), "underload");
  check_fault(parse_adam("   Err 4"), "error 4");
  CHECK(parse_adam("      123.45").kind == Kind::garbage);
  CHECK(parse_adam("      123.45 g extra").kind == Kind::garbage);
  CHECK(parse_adam("  12a.45 g").kind == Kind::garbage);
  CHECK(parse_adam("\x7f\x7f").kind == Kind::garbage);
  const auto f = frames("adam", {"      123.45 g \r\n    ", "  -1.00 g \r\n\r\n"});
  REQUIRE(f.size() == 2);
  check_weight(f[1], -1.0, "g", false, 2);
}

TEST_CASE("unit conversion uses the exact factors and keeps the printed resolution") {
  CHECK(grams_per("lb") == 453.59237);
  CHECK(grams_per("oz") == 28.349523125);
  CHECK(grams_per("kg") == 1000.0);
  CHECK_FALSE(grams_per("pcs"));
  CHECK(convert_mass(123.45, 2, "g", "g") == 123.45);
  CHECK(convert_mass(123.45, 2, "g", "kg") == 0.12345);
  CHECK(convert_mass(12.34, 2, "g", "kg") == 0.01234);   // no binary noise: the nearest double to 0.01234
  CHECK(convert_mass(1.234, 3, "kg", "g") == 1234.0);
  CHECK(convert_mass(453.59, 2, "g", "lb") == 0.999995);  // resolution 0.01 g = 0.000022 lb: 6 decimals
  CHECK(convert_mass(1.0, 4, "lb", "g") == 453.592);      // 0.0001 lb = 0.045 g: 3 decimals
  CHECK(convert_mass(16.0, 1, "oz", "lb") == 1.0);
  CHECK(convert_mass(100.0, 2, "g", "oz") == 3.5274);   // 0.01 g = 0.00035 oz: 5 decimals
  CHECK(convert_mass(-5.0, 0, "g", "kg") == -0.005);
  CHECK(convert_mass(0.0, 2, "lb", "g") == 0.0);
  CHECK_FALSE(convert_mass(1.0, 0, "pcs", "g"));
  CHECK(find_protocol("mt-sics")->poll == "SI\r\n");
  CHECK(find_protocol("sartorius")->poll == "\x1bP\r\n");
  CHECK(find_protocol("nope") == nullptr);
}
