# tally_test(NAME SOURCES... LIBS libs...): a Catch2 test program whose cases CTest lists one by one.
# Used by tests/ and by every driver folder for the tests that live beside the driver.
function(tally_test name)
  if(NOT BUILD_TESTING)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  if(CMAKE_CROSSCOMPILING)
    # Debian's libCatch2WithMain.a is for the build architecture only: compile the header-only main instead.
    if(NOT TARGET tally_catch_main)
      add_library(tally_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/packaging/catch_main.cpp)
      target_link_libraries(tally_catch_main PUBLIC Catch2::Catch2)
    endif()
    target_link_libraries(${name} PRIVATE ${T_LIBS} tally_catch_main)
  else()
    target_link_libraries(${name} PRIVATE ${T_LIBS} Catch2::Catch2WithMain)
  endif()
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    TALLY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    TALLYD_PATH="$<TARGET_FILE:tallyd>"
    TALLY_EMU_PATH="$<TARGET_FILE:tally-emu>"
    TALLYCTL_PATH="$<TARGET_FILE:tallyctl>")
  # --warn NoTests: a name CTest mangles (a ";" in it) must fail, not pass having run nothing.
  catch_discover_tests(${name} EXTRA_ARGS --warn NoTests PROPERTIES TIMEOUT 120)
endfunction()
