# Imports Wasmtime's C/C++ API as the target wasmtime::wasmtime.
# The library is built outside the tree by scripts/build-wasmtime (run by scripts/install-deps)
# and cached under ~/.cache/aether; AETHER_WASMTIME_PREFIX overrides the location.
if(NOT AETHER_WASMTIME_PREFIX)
  execute_process(
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/build-wasmtime --print-prefix
    OUTPUT_VARIABLE AETHER_WASMTIME_PREFIX
    OUTPUT_STRIP_TRAILING_WHITESPACE
    COMMAND_ERROR_IS_FATAL ANY)
endif()
if(NOT EXISTS ${AETHER_WASMTIME_PREFIX}/lib/libwasmtime.a)
  message(FATAL_ERROR
    "Wasmtime's C API is not built at ${AETHER_WASMTIME_PREFIX}.\n"
    "Run scripts/install-deps (or scripts/build-wasmtime) first; `make run` and `make test` do it for you.")
endif()
message(STATUS "Wasmtime C API: ${AETHER_WASMTIME_PREFIX}")
add_library(wasmtime::wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(wasmtime::wasmtime PROPERTIES
  IMPORTED_LOCATION ${AETHER_WASMTIME_PREFIX}/lib/libwasmtime.a
  INTERFACE_INCLUDE_DIRECTORIES ${AETHER_WASMTIME_PREFIX}/include
  # What rustc 1.95 asks a staticlib's C/C++ consumer to link.
  INTERFACE_LINK_LIBRARIES "gcc_s;util;rt;pthread;m;dl")
