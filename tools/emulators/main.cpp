// tally-emu: device emulators for Tally. Each subcommand acts like one kind of real device on a pseudo-terminal, so
// tests, the demo and humans can drive tallyd without hardware. See README.md.
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "devices.hpp"
#include "options.hpp"

namespace {

using namespace tally::emu;

struct Subcommand {
  std::string_view name;
  std::string_view summary;
  std::vector<OptionSpec> (*options)();
  int (*run)(const Options&);
};

// One row per device kind.
const Subcommand kSubcommands[] = {
    {"serial-line", "a device that prints one value a line (sine wave, optional line noise)", serial_line_options,
     run_serial_line},
    {"scale", "a bench scale: MT-SICS, A&D, Ohaus, Sartorius or Adam (tare, zero, stability, overload)",
     scale_options, run_scale},
    {"scanner", "a keyboard-wedge barcode scanner typing codes as key events into a FIFO (layouts, GS1, terminator)",
     scanner_options, run_scanner},
};

void overview(std::FILE* to) {
  std::fprintf(to, "usage: tally-emu DEVICE [OPTIONS]    (tally-emu DEVICE --help for its options)\n\ndevices:\n");
  for (const auto& s : kSubcommands)
    std::fprintf(to, "  %-14.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.summary.size()), s.summary.data());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    overview(stderr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    overview(stdout);
    return 0;
  }
  for (const auto& sub : kSubcommands) {
    if (sub.name != name) continue;
    const std::string prefix = "tally-emu " + std::string(name);
    try {
      const Options options(sub.options(), std::span<char* const>(argv + 2, static_cast<std::size_t>(argc - 2)));
      return sub.run(options);
    } catch (const HelpRequested&) {
      std::printf("usage: %s [OPTIONS]\n  %.*s\n\noptions:\n%s", prefix.c_str(), static_cast<int>(sub.summary.size()),
                  sub.summary.data(), Options::help(sub.options()).c_str());
      return 0;
    } catch (const UsageError& e) {
      std::fprintf(stderr, "%s: %s\n(see %s --help)\n", prefix.c_str(), e.what(), prefix.c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", prefix.c_str(), e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "tally-emu: unknown device '%.*s'\n", static_cast<int>(name.size()), name.data());
  overview(stderr);
  return 2;
}
