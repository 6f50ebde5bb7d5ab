// tally-emu scanner: a USB keyboard-wedge barcode scanner. It "scans" a string by writing the key events such a
// scanner makes the kernel deliver (struct input_event records: key press, SYN_REPORT, key release, SYN_REPORT,
// Shift or AltGr held around the key as the keyboard layout needs, the GS1 separator as configured, then the
// terminator) into a FIFO that a scanner-evdev device with `grab = false` reads.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "devices.hpp"
#include "scanner_evdev/keymap.hpp"
#include "scanner_evdev/wedge_decoder.hpp"

namespace tally::emu {

namespace {

using namespace tally::scanner_evdev;

struct Writer {
  int fd = -1;
  std::size_t size = kNativeEventSize;
  std::string bytes;
  void event(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    std::string rec(size, '\0');
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    const long sec = tv.tv_sec, usec = tv.tv_usec;  // two longs of this size's platform
    if (size == 24) {
      const std::int64_t s = sec, u = usec;
      std::memcpy(rec.data(), &s, 8), std::memcpy(rec.data() + 8, &u, 8);
    } else {
      const std::int32_t s = static_cast<std::int32_t>(sec), u = static_cast<std::int32_t>(usec);
      std::memcpy(rec.data(), &s, 4), std::memcpy(rec.data() + 4, &u, 4);
    }
    std::memcpy(rec.data() + size - 8, &type, 2);
    std::memcpy(rec.data() + size - 6, &code, 2);
    std::memcpy(rec.data() + size - 4, &value, 4);
    bytes += rec;
  }
  void key(std::uint16_t code, bool down) {
    event(EV_KEY_, code, down ? 1 : 0);
    event(EV_SYN_, SYN_REPORT_, 0);
  }
  void tap(std::uint16_t code) { key(code, true), key(code, false); }
  void flush() {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("write: ") + std::strerror(errno));
      off += static_cast<std::size_t>(n);
    }
    bytes.clear();
  }
};

// "<GS>" in the text stands for the GS1 separator (a shell cannot easily pass ASCII 29).
std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 4, "<GS>") == 0) {
      out += '\x1D';
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

struct Scanner {
  std::shared_ptr<const Keymap> keymap;
  std::string gs;
  std::string terminator;
  Writer w;

  void type_gs() {
    if (gs == "alt+029") {
      w.key(KEY_LEFTALT_, true);
      for (std::uint16_t kp : {82, 80, 73}) w.tap(kp);  // KP0 KP2 KP9
      w.key(KEY_LEFTALT_, false);
      return;
    }
    const GsForm form = *parse_gs(gs);
    if (form.ctrl) w.key(KEY_LEFTCTRL_, true);
    w.tap(form.key);
    if (form.ctrl) w.key(KEY_LEFTCTRL_, false);
  }

  void scan(const std::string& code) {
    for (unsigned char c : code) {
      if (c == 0x1D) {
        type_gs();
        continue;
      }
      const auto stroke = keymap->stroke_for(c);
      if (!stroke) throw std::runtime_error("the layout cannot type '" + std::string(1, static_cast<char>(c)) + "'");
      if (stroke->shift) w.key(KEY_LEFTSHIFT_, true);
      if (stroke->altgr) w.key(KEY_RIGHTALT_, true);
      w.tap(stroke->code);
      if (stroke->altgr) w.key(KEY_RIGHTALT_, false);
      if (stroke->shift) w.key(KEY_LEFTSHIFT_, false);
    }
    if (terminator == "enter") w.tap(KEY_ENTER_);
    if (terminator == "tab") w.tap(KEY_TAB_);
    w.flush();
    // Without a terminator the reader ends a code on its inter-key timeout: keep codes apart by more than that.
    if (terminator == "none") std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
};

// Opens the FIFO for writing once a reader has it open (a FIFO has nowhere to keep bytes before that).
int open_fifo(const std::string& path, std::chrono::milliseconds wait) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT || ::mkfifo(path.c_str(), 0660) != 0)
      throw std::runtime_error("mkfifo " + path + ": " + std::strerror(errno));
  } else if (!S_ISFIFO(st.st_mode)) {
    throw std::runtime_error(path + " exists and is not a FIFO");
  }
  const auto end = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      return fd;
    }
    if (errno != ENXIO) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= end) throw std::runtime_error("no reader opened " + path + " in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::vector<OptionSpec> scanner_options() {
  return {
      {"fifo", "PATH", "", "the FIFO a scanner-evdev device (grab = false) reads; created if missing"},
      {"scan", "CODE", "", "scan this one code and exit; without it, every line of stdin is a code"},
      {"layout", "LAYOUT", "us", "the keyboard layout the scanner is set to (xkb: us, de, de(nodeadkeys), fr...)"},
      {"gs", "FORM", "ctrl+]", "how the GS1 separator is typed: ctrl+], f12, alt+029, key:N, ctrl+key:N"},
      {"terminator", "KEY", "enter", "enter, tab or none"},
      {"event-size", "BYTES", std::to_string(kNativeEventSize), "input_event size: 24 (64-bit) or 16 (32-bit armhf)"},
      {"wait-ms", "MS", "10000", "how long to wait for a reader to open the FIFO"},
  };
}

int run_scanner(const Options& options) {
  Scanner s;
  s.keymap = Keymap::load(options.text("layout"));
  if (!s.keymap) throw UsageError("--layout: unknown keyboard layout '" + options.text("layout") + "'");
  s.gs = options.text("gs");
  if (!parse_gs(s.gs)) throw UsageError("--gs: use ctrl+], f12, alt+029, key:N or ctrl+key:N");
  s.terminator = options.text("terminator");
  if (s.terminator != "enter" && s.terminator != "tab" && s.terminator != "none")
    throw UsageError("--terminator: enter, tab or none");
  s.w.size = static_cast<std::size_t>(options.integer("event-size", 16, 24));
  if (s.w.size != 16 && s.w.size != 24) throw UsageError("--event-size: 16 or 24");
  const std::string path = options.text("fifo");
  s.w.fd = open_fifo(path, std::chrono::milliseconds(options.integer("wait-ms", 0, 3600000)));
  std::fprintf(stderr, "tally-emu: scanner on %s (layout %s)\n", path.c_str(), options.text("layout").c_str());
  int scanned = 0;
  if (options.given("scan")) {
    s.scan(unescape(options.text("scan")));
    ++scanned;
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      s.scan(unescape(line));
      ++scanned;
      std::fprintf(stderr, "tally-emu: scanned %s\n", line.c_str());
    }
  }
  ::close(s.w.fd);
  std::fprintf(stderr, "tally-emu: scanner done: %d codes\n", scanned);
  return 0;
}

}  // namespace tally::emu
