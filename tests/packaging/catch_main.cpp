// Catch2's main() for cross builds: Debian's catch2 package ships libCatch2WithMain.a for the build machine's
// architecture only (Multi-Arch: foreign), so a cross build compiles the header-only main itself.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
