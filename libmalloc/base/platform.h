// Constants and small arithmetic every layer of aixmalloc shares.
//
// The layer rule (checked by tests/unit/layers_test.cpp): libmalloc/base/ includes only
// libmalloc/base/; policies/ and options/ include base and their own folder (an option may include
// policies/policy.h); only libmalloc/ itself, the assembly, includes options/ and policies/; tools/
// and tests/ sit on top.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

// AIXMALLOC_TSAN: a ThreadSanitizer build (GCC says so with __SANITIZE_THREAD__, clang with
// __has_feature). Under it plain() is the relaxed load itself, which TSan follows (it reports the
// plain read as a race with the word's atomic stores).
#if defined(__SANITIZE_THREAD__)
#define AIXMALLOC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AIXMALLOC_TSAN 1
#endif
#endif

// On the few zero-initialised tables of 4 KiB and more (the address map, the stack cache, the
// runtime's layers, Malloc Detect's stripes...): the linker puts them after the rest of .bss
// (libmalloc/hot_text.ld), so that the small variables, 6 KiB in all, lie on two pages. Between
// the tables, the variables that every process reads or writes as it starts were spread over seven
// pages, and each cost a page fault (10-15 us on a virtual machine with shadow page tables). A
// static library links them with .bss.
#define AIXMALLOC_LARGE_TABLE [[gnu::section(".bss.aixmalloc_large")]]

// On the zero-initialised variables of more than a few words that only a debugging option, a
// replacement library, a report or a second thread uses: the linker puts them after .bss too
// (after the address map, whose first words end the small variables' page), before the tables, so
// that what every process touches (.data, the fork locks, .bss: 4 KiB) lies on one page, not
// three. The compiler refuses an initialiser other than zeros here.
#define AIXMALLOC_COLD [[gnu::section(".bss.aixmalloc_cold")]]

namespace aixmalloc {

// What the inline paths of malloc and free compare, read as a plain word: the compiler never makes
// an atomic load an operand of the compare, which costs an instruction on every call. Such words
// are aligned and written atomically (rarely): on x86-64 the plain read is the relaxed load the
// inline paths used, which allows a value just stale (options/pool.h, policies/watson2.h).
template <class T>
inline T plain(const std::atomic<T>& word) {
#ifdef AIXMALLOC_TSAN
  return word.load(std::memory_order_relaxed);
#else
  return *reinterpret_cast<const T*>(&word);
#endif
}

// Every pointer we return is aligned to this (AIX 64-bit: 16-byte prefix, 16-byte alignment).
inline constexpr size_t kAlignment = 16;
// The per-block prefix of the back-end policies, as on 64-bit AIX.
inline constexpr size_t kHeaderSize = 16;
// The address map's unit: every range we reserve starts and ends on a granule boundary.
inline constexpr size_t kGranuleShift = 16;
inline constexpr size_t kGranule = size_t{1} << kGranuleShift;  // 64 KiB, AIX's sbrk step
// Requests at least this large get an address range of their own (DESIGN.md invariant 3) and go
// back to the OS on free, so one huge buffer does not pin the heap's high-water mark forever.
inline constexpr size_t kLargeThreshold = size_t{4} << 20;
// Largest request we attempt; anything above fails with ENOMEM before any arithmetic can wrap.
inline constexpr size_t kMaxRequest = (size_t{1} << 47);
// The most heaps a process can have: AIX's limit for MALLOCOPTIONS=multiheap:n, and its default n.
inline constexpr unsigned kMaxHeaps = 32;

constexpr bool is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
constexpr uintptr_t align_up(uintptr_t x, size_t a) { return (x + a - 1) & ~(uintptr_t(a) - 1); }
constexpr uintptr_t align_down(uintptr_t x, size_t a) { return x & ~(uintptr_t(a) - 1); }

size_t page_size();

}  // namespace aixmalloc
