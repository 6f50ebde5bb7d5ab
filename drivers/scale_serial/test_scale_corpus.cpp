// Every line of every protocol's corpus (corpus/*.tsv: manuals, captures, other implementations' tests, each with
// its source) through the protocol's parser, checked against the meaning its source gives it. A failure names the
// file line, the bytes and the source.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "scale_serial/corpus/corpus.hpp"
#include "scale_serial/protocol.hpp"
#include "scale_serial/units.hpp"
#include "serial/line_splitter.hpp"

using namespace tally;
using namespace tally::scale_serial;

namespace {

const char* kind_name(FrameKind k) {
  switch (k) {
    case FrameKind::weight: return "weight";
    case FrameKind::fault: return "fault";
    case FrameKind::busy: return "busy";
    case FrameKind::ack: return "ack";
    case FrameKind::refused: return "refused";
    case FrameKind::error: return "error";
    case FrameKind::info: return "info";
    case FrameKind::garbage: return "garbage";
  }
  return "?";
}

// The line through the splitter (it strips the terminator) and the parser, as the driver does it.
std::vector<ScaleFrame> parse_all(const ProtocolInfo& p, const std::string& bytes) {
  LineSplitter splitter;
  std::vector<std::string> lines;
  splitter.feed(bytes, lines);
  std::vector<ScaleFrame> out;
  for (const auto& l : lines) out.push_back(p.parse(l));
  return out;
}

void check_line(const ProtocolInfo& p, const scale_corpus::Line& line) {
  INFO(scale_corpus::path(std::string(p.name)) << ":" << line.number << ": \"" << line.escaped << "\" expected "
                                               << line.expected_text << " (" << line.source << ")");
  const auto frames = parse_all(p, line.bytes);
  const auto& e = line.expected;
  if (frames.empty()) {  // a line of only a terminator: nothing reaches the parser
    CHECK(e.kind == "none");
    return;
  }
  CHECK(frames.size() == 1);  // CHECK, not REQUIRE: one wrong line must not hide the others
  if (frames.size() != 1) return;
  const ScaleFrame& f = frames[0];
  INFO("parsed as " << kind_name(f.kind) << " " << (f.value ? std::to_string(*f.value) : "-") << " unit '" << f.unit
                    << "' " << (f.stable ? "stable" : "unstable") << " reason '" << f.reason << "'");
  if (e.kind == "weight") {
    CHECK(f.kind == FrameKind::weight);
    CHECK(f.value);
    if (f.kind != FrameKind::weight || !f.value) return;
    CHECK(*f.value == Approx(e.value).margin(1e-9));
    CHECK(f.unit == e.unit);
    CHECK(f.stable == e.stable);
    // "unconverted": a unit tallyd does not turn into a mass (the driver counts the line as a drop naming it).
    if (!e.unit.empty()) CHECK(grams_per(f.unit).has_value() == !e.unconverted);
  } else if (e.kind == "fault") {
    CHECK(f.kind == FrameKind::fault);
    CHECK_FALSE(f.value);
    CHECK(f.reason.rfind(e.detail, 0) == 0);
  } else if (e.kind == "error") {
    CHECK(f.kind == FrameKind::error);
  } else if (e.kind == "ack" || e.kind == "refused") {
    CHECK(kind_name(f.kind) == e.kind);
    CHECK(f.command == e.detail);
  } else if (e.kind == "busy") {
    CHECK(f.kind == FrameKind::busy);
  } else {  // none: anything but a reading or an answer
    CHECK((f.kind == FrameKind::info || f.kind == FrameKind::garbage || f.kind == FrameKind::busy));
  }
}

void run_corpus(const std::string& protocol, std::size_t at_least) {
  const ProtocolInfo* p = find_protocol(protocol);
  REQUIRE(p != nullptr);
  const auto lines = scale_corpus::load(protocol);
  CHECK(lines.size() >= at_least);
  for (const auto& l : lines) check_line(*p, l);
}

}  // namespace

TEST_CASE("MT-SICS corpus: every line as its source says") { run_corpus("mt-sics", 30); }
TEST_CASE("A&D corpus: every line as its source says") { run_corpus("and", 40); }
TEST_CASE("Ohaus corpus: every line as its source says") { run_corpus("ohaus", 40); }
TEST_CASE("Sartorius corpus: every line as its source says") { run_corpus("sartorius", 40); }
TEST_CASE("Adam corpus: every line as its source says") { run_corpus("adam", 25); }

TEST_CASE("corpus files: every line has a source and a known expectation") {
  for (const char* protocol : {"mt-sics", "and", "ohaus", "sartorius", "adam"}) {
    for (const auto& l : scale_corpus::load(protocol)) {
      INFO(protocol << ":" << l.number);
      CHECK_FALSE(l.source.empty());
      CHECK_FALSE(l.bytes.empty());
    }
  }
}
