// Malloc Detect's reports (malloc_detect.h): each one block of text, built on the stack and
// written with one write on the MALLOCDEBUG output stream. The first line is the compact form, in
// the words of the allocator's fatal messages (libmalloc/base/fatal.h) so the same patterns find
// both; verbose adds what was found, where, and what to look for in the program.
//
//   aixmalloc: free(): double free of 0x5581c2a41040 (thread 4242)
//   aixmalloc: free(): invalid pointer 0x5581c2a41080: interior pointer of block 0x5581c2a41040
//              at offset +64 (thread 4242)                                    (one line)
//   aixmalloc: malloc(): heap corruption found by checkarena: heap 0: free block with flags set
//              at 0x5581c2a40ff0 (thread 4242)                                (one line)
#include <cstdlib>
#include <cstring>

#include "libmalloc/base/os.h"
#include "options/malloc_detect.h"

namespace aixmalloc::detect {
namespace {

void place(Text& t, Place where) {
  switch (where.kind) {
    case Place::kPool:
      t.str("in the pool (MALLOCOPTIONS=pool)");
      break;
    case Place::kHeap:
      t.str("in heap ").num(where.heap);
      break;
    case Place::kLarge:
      t.str("a large block (an address range of its own)");
      break;
    case Place::kOther:
      t.str("in memory set aside by the allocator");
      break;
    case Place::kNowhere:
      t.str("in no memory of this allocator");
      break;
  }
}

void first_line(Text& t, const char* call, const void* p, const Diagnosis& d) {
  t.str("aixmalloc: ").str(call).str("(): ");
  switch (d.what) {
    case Finding::kDoubleFree:
      t.str("double free of ").ptr(p);
      break;
    case Finding::kForeign:
      t.str("invalid pointer ").ptr(p).str(": not a block from malloc");
      break;
    case Finding::kInterior:
      t.str("invalid pointer ").ptr(p).str(": interior pointer of block ").hex(d.block);
      t.str(" at offset +").num(reinterpret_cast<uintptr_t>(p) - d.block);
      break;
    case Finding::kNotABlock:
      t.str("invalid pointer ").ptr(p).str(": not the start of a live block");
      break;
  }
  t.str(" (thread ").num(static_cast<uint64_t>(os::thread_id())).str(")\n");
}

void details(Text& t, const char* call, const void* p, const Diagnosis& d, Place where) {
  bool is_realloc = strcmp(call, "realloc") == 0;
  switch (d.what) {
    case Finding::kDoubleFree:
      t.str("  block:    ").ptr(p).str(", ").num(d.size).str(" bytes requested, ");
      place(t, where);
      t.str("\n  found:    validate_ptrs: it is not a live block; it is one of the blocks freed lately and "
            "has not been handed out again\n");
      t.str("  look for: a second ").str(call).str("() of a pointer already freed: a copy kept after free() "
            "(clear pointers when freeing), two owners freeing one object");
      if (is_realloc) t.str(", or the old pointer used after realloc() moved the block");
      t.str("\n");
      break;
    case Finding::kForeign:
      t.str("  found:    validate_ptrs: the address lies in no memory of this allocator\n");
      t.str("  look for: memory malloc did not return passed to ").str(call).str("(): a local or static "
            "array, a string literal, memory from mmap() or another allocator, an uninitialised pointer\n");
      break;
    case Finding::kInterior:
      t.str("  block:    ").hex(d.block).str(", ").num(d.size).str(" bytes requested, ");
      place(t, where);
      t.str("; the pointer lies ").num(reinterpret_cast<uintptr_t>(p) - d.block).str(" bytes into it\n");
      t.str("  found:    validate_ptrs: it is not the start of a live block\n");
      t.str("  look for: the block's pointer moved by arithmetic (p++) before ").str(call).str("(), or the "
            "address of a member or element passed instead of the block's own\n");
      break;
    case Finding::kNotABlock:
      t.str("  where:    ");
      place(t, where);
      t.str("\n  found:    validate_ptrs: neither a live block, nor inside one, nor one of the blocks freed "
            "lately (about the last ")
          .num(uint64_t{kStripes} * kFreedPerStripe)
          .str(" frees)\n");
      t.str("  look for: an older double free, a pointer into memory already freed, or a damaged "
            "pointer\n");
      break;
  }
}

// What the heaps' check() says, by the words of its reasons (policies/*.cpp, policies/segments.h):
// the check that failed, and what in a program breaks it.
struct Advice {
  const char* words;
  const char* check;
  const char* look_for;
};
constexpr const char* kSizeCheck =
    "every block's size word: no stray flag bits, a multiple of 16, inside its heap and segment";
constexpr const char* kSizeLook =
    "a write past the end of the block just below that address (an overflow of a few bytes is "
    "enough), or a write into a block after free()";
constexpr const char* kLinkCheck =
    "the free structures (trees, lists) against a walk of every block: order, no overlap, no merge "
    "missed, the counts";
constexpr const char* kLinkLook =
    "a write into a block after free() (a free block's first bytes hold the structure's links), a "
    "double free, or an overflow from the block below";
constexpr Advice kAdvice[] = {
    {"flags", kSizeCheck, kSizeLook},
    {"size", kSizeCheck, kSizeLook},
    {"misaligned", kSizeCheck, kSizeLook},
    {"outside the heap", kSizeCheck, kSizeLook},
    {"bad ", kSizeCheck, kSizeLook},
    {"check word", "the 16-byte prefix of every block in use (its check word)",
     "a write past the end of the block below, or before the start of this one (a negative index)"},
    {"fence", "the fence block at the start of every segment",
     "a write before the start of the segment's first block (a negative index)"},
};

void advise(Text& t, const Text& why) {
  const Advice* a = nullptr;
  for (const Advice& candidate : kAdvice) {
    size_t n = strlen(candidate.words);
    for (size_t i = 0; a == nullptr && i + n <= why.size(); ++i)
      if (memcmp(why.data() + i, candidate.words, n) == 0) a = &candidate;
  }
  t.str("  check:    ").str(a ? a->check : kLinkCheck).ch('\n');
  t.str("  look for: ").str(a ? a->look_for : kLinkLook).ch('\n');
  t.str("  the process stops: a damaged heap cannot be used safely (MALLOCDEBUG=continue does not apply)\n");
}

}  // namespace

void report_bad_pointer(const char* call, const void* p, const Diagnosis& d, Place where, Dropped dropped,
                        bool verbose) {
  TextBuf<2048> t;
  first_line(t, call, p, d);
  if (verbose) details(t, call, p, d, where);
  if (debug::continue_after_errors()) {
    static const char* const kOutcome[] = {"does nothing", "returns NULL with errno EINVAL", "returns 0"};
    t.str("aixmalloc: MALLOCDEBUG=continue: this ").str(call).str("() ");
    t.str(kOutcome[static_cast<unsigned>(dropped)]).ch('\n');
  }
  debug::error(t);
}

void report_damaged_heap(const char* call, const Text& why, bool verbose) {
  TextBuf<2048> t;
  t.str("aixmalloc: ").str(call).str("(): heap corruption found by checkarena: ").str(why.data(), why.size());
  t.str(" (thread ").num(static_cast<uint64_t>(os::thread_id())).str(")\n");
  if (verbose) advise(t, why);
  debug::emit(t);
  abort();
}

}  // namespace aixmalloc::detect
