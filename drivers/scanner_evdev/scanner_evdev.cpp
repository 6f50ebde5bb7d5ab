// scanner-evdev: the I/O around WedgeDecoder. Opens the node, grabs it, reads whole input_event records, and keeps a
// code's inter-key timeout running through InputSink::wake_after.
//
// Why not libevdev: it would give us EVIOCGRAB (one ioctl) and SYN_DROPPED resynchronisation of the key state.
// But libevdev_set_fd() queries the device with EVIOCGBIT/EVIOCGID ioctls, which fail on a FIFO, and it reads only
// this machine's input_event size; the FIFO path (tests, the emulator, the demo) and the 16-byte layout would need
// this reader anyway. And a scanner needs no resync: a code interrupted by lost events cannot be repaired from the
// key state afterwards, so the decoder drops it and resets its modifiers, and the operator scans again. One reader
// for both, no extra dependency on the Pi.
#include "scanner_evdev.hpp"

#include <fcntl.h>
#include <linux/input.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "device_error.hpp"
#include "table_reader.hpp"
#include "unique_fd.hpp"
#include "wedge_decoder.hpp"

namespace tally::scanner_evdev {

namespace {

static_assert(sizeof(struct input_event) == kNativeEventSize, "input_event layout as linux/input.h defines it");

struct Settings {
  std::string path;
  bool grab = true;
  std::size_t event_size = kNativeEventSize;  // FIFOs only; a device node always delivers the native size
  DecoderSettings decoder;
};

class ScannerEvdev final : public Driver {
 public:
  explicit ScannerEvdev(Settings s) : s_(std::move(s)), reader_(s_.event_size), decoder_(s_.decoder) {}

  void open() override {
    unique_fd fd(::open(s_.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) throw_from_errno("open " + s_.path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_from_errno("stat " + s_.path);
    const bool fifo = S_ISFIFO(st.st_mode);
    if (fifo) {
      // Read-write on a FIFO (Linux, fifo(7)): we count as a writer ourselves, so a writer that comes and goes (the
      // emulator) never gives end-of-file or a hang-up that would spin the loop.
      fd.reset(::open(s_.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
      if (!fd) throw_from_errno("open " + s_.path);
    } else if (!S_ISCHR(st.st_mode)) {
      throw device_error(ENOTTY, s_.path + " is neither an evdev device nor a FIFO");
    }
    if (s_.grab) {
      // EVIOCGRAB: our events only, so a scan never types into a console or a login prompt. Fails with ENOTTY on a
      // FIFO and EBUSY when someone else holds the grab.
      if (::ioctl(fd.get(), EVIOCGRAB, 1) != 0) {
        if (errno == ENOTTY || errno == EINVAL)
          throw device_error(errno, s_.path + ": cannot grab (not an evdev device; use grab = false for a FIFO)");
        throw_from_errno("grab " + s_.path);
      }
    }
    reader_ = EventReader(fifo ? s_.event_size : kNativeEventSize);
    decoder_.reset();
    fd_ = std::move(fd);
  }

  void close() noexcept override { fd_.reset(); }  // closing releases the grab
  int fd() const noexcept override { return fd_.get(); }

  void collect(InputSink& sink) override {
    char buf[4096];
    std::vector<InputEvent> events;
    std::vector<Decoded> out;
    for (int reads = 0; reads < 16; ++reads) {
      const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // Unplugged: read() fails with ENODEV from then on; the runner closes and reopens the same by-id path.
      if (n < 0) throw_from_errno("read " + s_.path);
      if (n == 0) throw device_error(ENODEV, "read " + s_.path + ": end of file");
      const auto now = WedgeDecoder::clock::now();
      last_bytes_ = now;
      events.clear();
      const auto resyncs = reader_.resyncs();
      reader_.feed({buf, static_cast<std::size_t>(n)}, events);
      for (const auto& e : events) decoder_.feed(e, now, out);
      if (reader_.resyncs() != resyncs) {
        sink.dropped("input_event stream out of step (a truncated record): resynchronised");
        decoder_.discard(out);
      }
    }
    // A record left incomplete with nothing following (a writer that wrote part of one): discard it, counted, so
    // the next record is read in step, and lose the code in progress as the kernel's SYN_DROPPED would.
    const auto now = WedgeDecoder::clock::now();
    std::optional<WedgeDecoder::clock::time_point> partial_deadline;
    if (reader_.pending() > 0) {
      if (now - last_bytes_ >= kTruncatedAfter) {
        sink.dropped("truncated input_event (" + std::to_string(reader_.drop_partial()) + " bytes) discarded");
        decoder_.discard(out);
      } else {
        partial_deadline = last_bytes_ + kTruncatedAfter;
      }
    }
    decoder_.idle(now, out);
    const auto ts = std::chrono::system_clock::now();
    for (auto& d : out) {
      if (!d.dropped.empty()) {
        sink.dropped(d.dropped);
        continue;
      }
      sink.scan(Scan{std::move(d.code), std::move(d.symbology), ts});
    }
    auto deadline = decoder_.deadline();
    if (partial_deadline && (!deadline || *partial_deadline < *deadline)) deadline = partial_deadline;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - WedgeDecoder::clock::now());
      sink.wake_after(std::max(left, std::chrono::milliseconds{1}));
    }
  }

 private:
  Settings s_;
  EventReader reader_;
  WedgeDecoder decoder_;
  unique_fd fd_;
  // A writer writes a record in one write() (the kernel always; a FIFO writer of <= PIPE_BUF bytes atomically):
  // part of one still alone after this long was truncated.
  static constexpr std::chrono::milliseconds kTruncatedAfter{100};
  WedgeDecoder::clock::time_point last_bytes_{};
};

}  // namespace

DriverFactory configure(TableReader& keys) {
  Settings s;
  s.path = keys.required_string("path");
  s.grab = keys.boolean("grab", true);
  const std::string terminator = keys.choice("terminator", "enter", {"enter", "tab", "none"});
  s.decoder.terminator = terminator == "tab" ? Terminator::tab : terminator == "none" ? Terminator::none
                                                                                          : Terminator::enter;
  const std::string gs = keys.string("gs", "ctrl+]");
  if (const auto form = parse_gs(gs)) {
    s.decoder.gs = *form;
  } else {
    keys.error("gs", "must be \"ctrl+]\", \"f12\", \"alt+029\", \"key:N\" or \"ctrl+key:N\" (N an evdev key code)");
  }
  const std::string layout = keys.string("layout", "us");
  s.decoder.keymap = Keymap::load(layout);
  if (!s.decoder.keymap) {
    keys.error("layout", "unknown keyboard layout \"" + layout +
                             "\" (an xkb layout such as \"us\", \"de\", \"de(nodeadkeys)\", \"fr\"; see "
                             "/usr/share/X11/xkb/rules/evdev.lst)");
    s.decoder.keymap = Keymap::load("us");
  }
  s.decoder.timeout = std::chrono::milliseconds(keys.integer("timeout_ms", 100, 10, 10000));
  s.event_size = static_cast<std::size_t>(keys.integer("event_size", kNativeEventSize, 16, 24));
  if (s.event_size != 16 && s.event_size != 24) keys.error("event_size", "must be 16 (32-bit) or 24 (64-bit)");
  if (!s.decoder.keymap) return [] { return std::unique_ptr<Driver>(); };  // xkb-data missing: already reported
  return [s] { return std::make_unique<ScannerEvdev>(s); };
}

}  // namespace tally::scanner_evdev
