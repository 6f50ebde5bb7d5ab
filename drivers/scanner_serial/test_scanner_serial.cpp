// scanner-serial: lines -> scans (pure), then a real pseudo-terminal standing in for /dev/ttyACM0.
#include <catch2/catch.hpp>
#include <poll.h>

#include <algorithm>
#include <clocale>
#include <cwchar>
#include <cwctype>
#include <fstream>
#include <random>
#include <set>

#include "device_error.hpp"
#include "driver_testing.hpp"
#include "scanner_serial/code_text.hpp"
#include "scanner_serial/scanner_serial.hpp"
#include "support/pty.hpp"
#include "support/temp_dir.hpp"
#include "support/wait.hpp"

using namespace tally;

TEST_CASE("a line is a code, the AIM identifier is kept apart, GS stays") {
  auto l = scanner_serial::parse_line("]C1011231231231233310ABC123\x1D" "99TESTING");  // shared/reference/devices.md
  CHECK(l.symbology == "]C1");
  CHECK(l.code == "011231231231233310ABC123\x1D" "99TESTING");
  CHECK(l.invalid.empty());
  l = scanner_serial::parse_line("SN-0042");
  CHECK(l.symbology.empty());
  CHECK(l.code == "SN-0042");
  CHECK(l.invalid.empty());
  l = scanner_serial::parse_line("Gr\xC3\xB6\xC3\x9F" "e-\xE2\x82\xAC");  // UTF-8 from a QR code: text
  CHECK(l.invalid.empty());
  CHECK(l.code == "Gr\xC3\xB6\xC3\x9F" "e-\xE2\x82\xAC");
}

TEST_CASE("a line that is not a code is an invalid scan, its bytes escaped, never dropped") {
  auto l = scanner_serial::parse_line("\x01\x02garbage");
  CHECK(l.invalid == "control byte 0x01 at byte 1");
  CHECK(l.code == "\\x01\\x02garbage");
  l = scanner_serial::parse_line("]E0");  // PRODUCT: an identifier and no data is recorded as invalid
  CHECK(l.symbology == "]E0");
  CHECK(l.code.empty());
  CHECK(l.invalid == "only a symbology identifier (]E0), no data");
  // Two different serials with bytes that are not UTF-8: two different codes (before, both became "SN-\ufffd\ufffd").
  const auto a = scanner_serial::parse_line("SN-\xFF\xFE"), b = scanner_serial::parse_line("SN-\xFE\xFF");
  CHECK(a.code == "SN-\\xFF\\xFE");
  CHECK(b.code == "SN-\\xFE\\xFF");
  CHECK(a.invalid == "not UTF-8 text at byte 4 (0xff)");
  CHECK_FALSE(b.invalid.empty());
  // A backslash is escaped too, so "\xFF" typed as four characters and the byte 0xFF never read the same.
  const auto typed = scanner_serial::parse_line("SN-\\xFF\x07");
  CHECK(typed.code == "SN-\\\\xFF\\x07");
  // Not UTF-8: overlong forms, surrogates, C1 controls, DEL.
  for (const char* bad : {"A\xC0\xAF", "A\xED\xA0\x80", "A\xC2\x85", "A\x7F", "A\xF4\x90\x80\x80", "A\xE2\x82"}) {
    INFO(scanner_serial::parse_line(bad).code);
    CHECK_FALSE(scanner_serial::parse_line(bad).invalid.empty());
  }
  CHECK_FALSE(scanner_serial::parse_line(std::string(5000, '7')).invalid.empty());
}

TEST_CASE("scanner-serial on a pty: CR, LF and CR LF terminated codes, split across writes") {
  test::TempDir dir;
  test::Pty pty(dir.file("ttyACM-scanner"));
  auto driver = test::make_driver(scanner_serial::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-serial\"\nport = \"" +
                                                                 pty.link() + "\"\nbaud = 115200\n");
  driver->open();
  test::RecordingSink sink;
  pty.write("]E04006381333931\r");
  pty.write("SN-1\nSN-");
  pty.write("2\r\n\x07\x08\r\n");
  REQUIRE(test::wait_until([&] {
    pollfd p{driver->fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) driver->collect(sink);
    return sink.scans.size() >= 4;
  }));
  CHECK(sink.scans[0].symbology == "]E0");
  CHECK(sink.scans[0].code == "4006381333931");
  CHECK(sink.scans[1].code == "SN-1");
  CHECK(sink.scans[2].code == "SN-2");
  REQUIRE(sink.scans.size() >= 4);  // "\x07\x08": an invalid scan, recorded
  CHECK(sink.scans[3].code == "\\x07\\x08");
  CHECK(sink.scans[3].invalid == "control byte 0x07 at byte 1");
  CHECK(sink.drops.empty());
  pty.unplug();
  auto drain_until_gone = [&] {
    for (int i = 0; i < 100; ++i) {
      pollfd p{driver->fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
      driver->collect(sink);
    }
  };
  CHECK_THROWS_AS(drain_until_gone(), device_error);  // unplugged: the runner reopens the same path
}

TEST_CASE("scanner-serial sample.toml is a valid configuration") {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/drivers/scanner_serial/sample.toml");
  REQUIRE(in);
  const std::string sample((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto c = test::configure_driver(&scanner_serial::configure, sample, "sample.toml");
  CHECK(c.problems.empty());
  CHECK(c.make);
}

// Independent of code_text.cpp: the C library's UTF-8 decoder and wide-character classes say what is text.
bool libc_text(const std::string& line) {
  std::mbstate_t st{};
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    wchar_t wc = 0;
    const std::size_t n = std::mbrtowc(&wc, p, left, &st);
    if (n == static_cast<std::size_t>(-1) || n == static_cast<std::size_t>(-2) || n == 0) return false;
    if (wc != 0x1D && (std::iswcntrl(static_cast<wint_t>(wc)) || (wc >= 0xD800 && wc <= 0xDFFF))) return false;
    p += n, left -= n;
  }
  return line.size() <= scanner_serial::kMaxCode;
}

TEST_CASE("scanner-serial: 1 MB of random bytes on the line: every line is one scan, none that is not text is valid") {
  REQUIRE(std::setlocale(LC_CTYPE, "C.UTF-8"));
  std::mt19937 rng(20261124);
  std::string noise(1 << 20, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
  // What the test expects, from its own split: the non-empty runs between CR and LF.
  std::size_t lines = 0, text_lines = 0;
  for (std::size_t i = 0; i < noise.size();) {
    const std::size_t end = std::min(noise.find_first_of("\r\n", i), noise.size());
    if (end > i) ++lines, text_lines += libc_text(noise.substr(i, end - i)) ? 1 : 0;
    i = end + 1;
  }

  test::TempDir dir;
  test::Pty pty(dir.file("ttyACM-noise"));
  auto driver = test::make_driver(scanner_serial::configure, "[[devices]]\nname = \"s\"\ndriver = \"scanner-serial\"\nport = \"" +
                                                                 pty.link() + "\"\n");
  driver->open();
  test::RecordingSink sink;
  auto drain = [&] {
    pollfd p{driver->fd(), POLLIN, 0};
    while (::poll(&p, 1, 0) > 0) driver->collect(sink);
  };
  for (std::size_t i = 0; i < noise.size(); i += 2048) {
    pty.write(std::string_view(noise).substr(i, 2048));
    drain();
  }
  pty.write("\r");  // ends the last line
  REQUIRE(test::wait_until([&] {
    drain();
    return sink.scans.size() >= lines;
  }));
  CHECK(sink.scans.size() == lines);
  CHECK(sink.drops.empty());
  std::size_t valid = 0;
  std::set<std::string> invalid_codes;
  for (const auto& s : sink.scans) {
    if (!s.invalid.empty()) {
      // Escaped: printable ASCII only, so JSON carries it unchanged and no two byte strings collapse.
      CHECK(std::all_of(s.code.begin(), s.code.end(), [](char c) { return c >= 0x20 && c < 0x7F; }));
      continue;
    }
    ++valid;
    CHECK(libc_text(s.symbology + s.code));
  }
  CHECK(valid == text_lines);
  CHECK(valid < lines / 50);  // before: 446 of them were valid codes (and registered units)
}
