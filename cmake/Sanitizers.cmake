# Sanitizer and fuzzing builds. Included by the top-level CMakeLists.txt right after project(),
# before any target exists; the flags are attached at the end of the top-level directory (a
# deferred call), once every target, tests included, has been declared.
#
#   -DAIXMALLOC_SANITIZE=address   ASan + UBSan, every report fatal (-fno-sanitize-recover=all)
#   -DAIXMALLOC_SANITIZE=thread    TSan
#   -DAIXMALLOC_FUZZ=ON            libFuzzer targets of tests/fuzz (clang only); the core is built
#                                  with coverage instrumentation, and ASan+UBSan unless a
#                                  sanitizer is chosen
#
# The flags go on aixmalloc_core (the allocator's OBJECT library) as usage requirements, so every
# target that links it gets them too: the unit tests, tests/reliability/threads_test, the fuzzers,
# the CLI, and the two libraries made of its objects.
#
# What is meaningful in such a build: the tests that drive the core directly (ctest -L unit, the
# threads test, the fuzzers). Not meaningful, and to be left out of sanitizer builds: anything that
# makes aixmalloc *the* malloc of a process, because ASan and TSan bring their own allocator:
#   - runtime_test links libaixmalloc.a (two definitions of malloc in one program);
#   - the LD_PRELOAD tests would preload an instrumented libaixmalloc.so, whose sanitizer runtime
#     then is not the first library of the process (ASan refuses to start).
# tests/CMakeLists.txt wraps those in `if(NOT AIXMALLOC_SANITIZE)`; tests/reliability does the same
# for its LD_PRELOAD tests.

set(AIXMALLOC_SANITIZE "" CACHE STRING "Sanitizer build: empty, address (ASan+UBSan) or thread (TSan)")
set_property(CACHE AIXMALLOC_SANITIZE PROPERTY STRINGS "" address thread)
option(AIXMALLOC_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)

if(AIXMALLOC_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "AIXMALLOC_FUZZ needs clang (libFuzzer); this is ${CMAKE_CXX_COMPILER_ID}. "
                        "Configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang, "
                        "or use the 'fuzz' preset.")
  endif()
  if(AIXMALLOC_SANITIZE STREQUAL "")
    # A fuzzer without a sanitizer only finds crashes; with one it finds the memory errors too.
    # A plain variable: it shadows the cache entry in this build without rewriting it.
    set(AIXMALLOC_SANITIZE address)
  endif()
endif()

if(AIXMALLOC_SANITIZE STREQUAL "address")
  set(AIXMALLOC_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
elseif(AIXMALLOC_SANITIZE STREQUAL "thread")
  if(AIXMALLOC_FUZZ)
    message(FATAL_ERROR "AIXMALLOC_FUZZ goes with AIXMALLOC_SANITIZE=address, not thread")
  endif()
  set(AIXMALLOC_SANITIZER_FLAGS -fsanitize=thread)
elseif(NOT AIXMALLOC_SANITIZE STREQUAL "")
  message(FATAL_ERROR "AIXMALLOC_SANITIZE must be empty, 'address' or 'thread', not '${AIXMALLOC_SANITIZE}'")
else()
  set(AIXMALLOC_SANITIZER_FLAGS "")
endif()

if(AIXMALLOC_SANITIZER_FLAGS)
  message(STATUS "aixmalloc: sanitizer build (${AIXMALLOC_SANITIZE}): ${AIXMALLOC_SANITIZER_FLAGS}")
endif()

function(_aixmalloc_apply_sanitizers)
  if(NOT AIXMALLOC_SANITIZER_FLAGS)
    return()
  endif()
  if(NOT TARGET aixmalloc_core)
    message(FATAL_ERROR "cmake/Sanitizers.cmake: no aixmalloc_core target at the end of the top-level CMakeLists.txt")
  endif()
  # Readable stacks; the tests' timings do not matter in these builds.
  set(flags ${AIXMALLOC_SANITIZER_FLAGS} -fno-omit-frame-pointer)
  target_compile_options(aixmalloc_core PUBLIC ${flags})
  target_link_options(aixmalloc_core INTERFACE ${flags})
  if(AIXMALLOC_FUZZ)
    # Coverage feedback from the code under test only: the parser and the policies. The sanitizer
    # runtime linked into every consumer provides the coverage callbacks.
    target_compile_options(aixmalloc_core PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  # A test that makes aixmalloc the process's malloc cannot share the process with a sanitizer's
  # allocator (see the top of this file): say so at configure time rather than with a crash.
  foreach(t runtime_test)
    if(TARGET ${t})
      message(WARNING "cmake/Sanitizers.cmake: ${t} links libaixmalloc.a and cannot run under "
                      "AIXMALLOC_SANITIZE=${AIXMALLOC_SANITIZE}; tests/CMakeLists.txt should declare it "
                      "inside if(NOT AIXMALLOC_SANITIZE). Run 'ctest -L unit' in this build.")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _aixmalloc_apply_sanitizers)
