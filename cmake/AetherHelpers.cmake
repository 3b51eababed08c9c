# aether_library(NAME SRCS a.cc b.cc DEPS x y)
#   A static library for one subsystem folder. `src/` is the include root, so code
#   writes #include "codec/codec.h". DEPS may name only lower layers (ARCHITECTURE.md).
function(aether_library name)
  cmake_parse_arguments(A "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${A_DEPS})
endfunction()

# aether_test(NAME SRCS x_test.cc DEPS lib...)   gtest binary registered with ctest.
function(aether_test name)
  if(AETHER_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${A_SRCS})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit;${A_LABELS}")
endfunction()

# aether_fuzz(NAME SRC x_fuzz.cc DEPS lib...)   libFuzzer target, built only with AETHER_FUZZ=ON.
function(aether_fuzz name)
  if(NOT AETHER_FUZZ)
    return()
  endif()
  cmake_parse_arguments(A "" "" "SRC;DEPS" ${ARGN})
  add_executable(${name} ${A_SRC})
  target_link_libraries(${name} PRIVATE ${A_DEPS})
  # Debian's libclang_rt.fuzzer is built against libstdc++ while our fuzz build uses libc++
  # (for std::expected, docs/building.md); clang rewrites -lstdc++ to -lc++, so name the file.
  target_link_options(${name} PRIVATE -fsanitize=fuzzer -l:libstdc++.so.6)
  set_property(GLOBAL APPEND PROPERTY AETHER_FUZZ_TARGET_LIST ${name})
endfunction()
