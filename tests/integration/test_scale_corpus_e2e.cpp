// The scale corpus end to end: every line of every protocol's corpus (drivers/scale_serial/corpus/*.tsv, each from
// a manual, a capture or another implementation's tests) written into a real pty, read by a real tallyd with the
// scale-serial driver (streaming: poll_ms = 0), published through a real mosquitto; the subscriber checks that what
// arrives is exactly what the corpus says: each weight (converted to g, with its stable flag), each overload,
// underload and error as a fault with a null value, and nothing at all for the lines that are not a weight.
#include <catch2/catch.hpp>

#include <cmath>

#include "../../drivers/scale_serial/corpus/corpus.hpp"
#include "harness.hpp"
#include "scale_serial/units.hpp"

using namespace tally::test;
using namespace std::chrono_literals;

namespace {

struct Played {
  std::string protocol, device;
  std::string start_marker, end_marker;  // a stable 1111.1 g / 4321.5 g line in the protocol's own format
};

const std::vector<Played> kPlayed{
    {"mt-sics", "mt", "S S     1111.1 g\r\n", "S S     4321.5 g\r\n"},
    {"and", "and", "ST,+001111.1  g\r\n", "ST,+004321.5  g\r\n"},
    {"ohaus", "ohaus", "      1111.1 g\r\n", "      4321.5 g\r\n"},
    {"sartorius", "sartorius", "+   1111.1 g  \r\n", "+   4321.5 g  \r\n"},
    {"adam", "adam", "ST,GS     1111.1 g \r\n", "ST,GS     4321.5 g \r\n"},
};

// What tallyd must publish for the corpus, in order: a value (with stable) or a fault prefix.
struct Want {
  std::optional<double> value;
  bool stable = false;
  std::string fault;
  std::string what;  // file:line and bytes, for the failure message
};

std::vector<Want> expected_readings(const std::string& protocol) {
  std::vector<Want> out;
  std::string last_unit = "g";  // the start marker's: Sartorius prints no unit while unstable
  for (const auto& l : tally::scale_corpus::load(protocol)) {
    const auto& e = l.expected;
    const std::string what = protocol + ":" + std::to_string(l.number) + " \"" + l.escaped + "\"";
    if (e.kind == "weight") {
      if (e.unconverted) continue;  // a count, %, force, tael: counted as a drop, never published
      if (!e.unit.empty()) last_unit = e.unit;
      int decimals = 0;
      if (const auto dot = l.bytes.find_first_of('.'); dot != std::string::npos)
        while (dot + 1 + decimals < l.bytes.size() && std::isdigit(static_cast<unsigned char>(l.bytes[dot + 1 + decimals])))
          ++decimals;
      const auto g = tally::scale_serial::convert_mass(e.value, decimals, last_unit, "g");
      REQUIRE(g);
      out.push_back({*g, e.stable, "", what});
    } else if (e.kind == "fault") {
      out.push_back({std::nullopt, false, e.detail, what});
    } else if (e.kind == "error") {  // an error reply while nothing was asked: a faulted reading
      out.push_back({std::nullopt, false, "error:", what});
    }
  }
  return out;
}

std::vector<json> device_readings(const std::vector<Message>& all, const std::string& device) {
  std::vector<json> out;
  for (const auto& m : all)
    if (m.topic == base + "/readings/" + device && !m.payload.empty()) out.push_back(json::parse(m.payload));
  return out;
}

bool has_value(const json& r, double v) {
  return r["value"].is_number() && std::abs(r["value"].get<double>() - v) < 1e-9;
}

}  // namespace

TEST_CASE_METHOD(WithStation, "every corpus line played through a pty into tallyd is published as its source says") {
  std::vector<std::unique_ptr<Pty>> ptys;
  std::string devices;
  for (const auto& p : kPlayed) {
    ptys.push_back(std::make_unique<Pty>(dir.file("tty-" + p.device)));
    devices += "[[devices]]\nname = \"" + p.device + "\"\ndriver = \"scale-serial\"\nport = \"" + ptys.back()->link() +
               "\"\nprotocol = \"" + p.protocol + "\"\npoll_ms = 0\ntimeout_ms = 0\nunit = \"g\"\n\n";
  }
  tallyd.start(config(devices));

  for (std::size_t i = 0; i < kPlayed.size(); ++i) {
    const Played& p = kPlayed[i];
    Pty& pty = *ptys[i];
    INFO(p.protocol << "\n" << tallyd.log());
    // The driver discards what was queued before it opened the port: repeat the start marker until it is read.
    REQUIRE(wait_until([&] {
      pty.write(p.start_marker);
      return sub.wait_for([&](const auto& all) {
        for (const auto& r : device_readings(all, p.device))
          if (has_value(r, 1111.1)) return true;
        return false;
      }, 300ms);
    }, 15s));
    const std::size_t before = device_readings(sub.messages(), p.device).size();

    std::string all_lines;
    for (const auto& l : tally::scale_corpus::load(p.protocol)) all_lines += l.bytes;
    pty.write(all_lines);
    pty.write(p.end_marker);
    REQUIRE(sub.wait_for([&](const auto& all) {
      const auto got = device_readings(all, p.device);
      return !got.empty() && has_value(got.back(), 4321.5);
    }, 15s));

    auto got = device_readings(sub.messages(), p.device);
    got.erase(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(before));
    // A start marker may still have been in flight; drop any before the corpus's own readings.
    while (!got.empty() && has_value(got.front(), 1111.1)) got.erase(got.begin());
    got.pop_back();  // the end marker
    const auto want = expected_readings(p.protocol);
    CHECK(got.size() == want.size());
    for (std::size_t k = 0; k < std::min(got.size(), want.size()); ++k) {
      INFO(want[k].what << " published " << got[k].dump());
      CHECK(got[k]["unit"] == "g");
      CHECK(got[k]["quantity"] == "mass");
      if (want[k].value) {
        CHECK(has_value(got[k], *want[k].value));
        CHECK(got[k].value("stable", !want[k].stable) == want[k].stable);
        CHECK_FALSE(got[k].contains("fault"));
      } else {
        CHECK(got[k]["value"].is_null());
        CHECK(got[k].value("fault", "").rfind(want[k].fault, 0) == 0);
      }
    }
  }
  CHECK(tallyd.process->running());
}
