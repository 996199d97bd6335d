// The call stack of a malloc-family call, for the Malloc Log: return addresses, innermost first,
// taken without allocating, without any lock (of the loader, of libc or of the allocator) and
// correct in code built without frame pointers. Knows no layer.
//
//   capture()  the program's frame, as the entry point's thunk noted it (caller.h): frames[0];
//              then --CFI rule--> caller --CFI rule--> ... `depth` - 1 more frames above it.
//              Without a noted frame: up from capture() itself to the noted return address first.
//
// Each step applies the frame's CFA rule (.eh_frame: where the caller's stack pointer, return
// address and frame pointer are), looked up by return address in a process-wide cache. A miss
// finds the rule itself: _dl_find_object() (lock-free, no allocation) gives the module's
// .eh_frame_hdr, a binary search its FDE, and the FDE's call-frame program is run up to the
// address (stack_capture.cpp). Memory is read only between the current stack pointer and the top
// of this thread's stack, so a wrong rule can end a stack early but never fault.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace aixmalloc::stack {

inline constexpr unsigned kMaxDepth = 64;

// Set while this thread captures (or records) a stack: an allocation made meanwhile by something
// the capture calls (pthread_getattr_np, once per thread) is served without being logged, so the
// log never recurses.
extern __thread bool t_busy;

struct Result {
  unsigned frames = 0;     // filled in out[0, frames)
  bool truncated = false;  // ended below `depth` for a reason other than the outermost frame
  // When the whole stack came from (or went into) this thread's memo of walks: a word the caller
  // may keep with it (0 until it does), e.g. a hash of the frames; it stays with these frames
  // until the memo forgets them. nullptr otherwise.
  uint64_t* kept = nullptr;
};

// Fills out[0] with `first` (the return address of the malloc-family call, the program's call
// site) and out[1, depth) with the return addresses of its callers. `cfa` and `rbp`: the
// program's stack pointer after the call returns and its rbp, as the entry point noted them
// (libmalloc/base/caller.h): the walk starts there, at the program's frame; cfa 0 (unknown), or
// a cfa whose return address is not `first`, walks up from capture() through the allocator's
// frames until it meets `first`. `first` 0: from the caller of capture() itself. Never
// allocates; may call pthread_getattr_np once per thread (t_busy set).
Result capture(uintptr_t first, uintptr_t cfa, uintptr_t rbp, uintptr_t* out, unsigned depth);

// --- the memo of this thread's walks (stack_capture.cpp says more), here for capture_inline() ---
namespace memo {

// One frame while unwinding: where it executes (a return address, or one more than an address
// inside the instruction of interest), its stack pointer and rbp; the stack's readable range
// [low, high) and the rule cache's generation.
struct Walk {
  uintptr_t pc, sp, rbp;
  uintptr_t low, high;
  uint64_t generation;
};
// What a step read from the stack: where the caller's return address was and it, where rbp was
// saved and it (in a memo, a step whose frame did not save rbp points rbp_slot at its own rbp
// field, so that every step is checked alike: Memo::saved says which did).
struct Step {
  uintptr_t ret_slot, ret, rbp_slot, rbp;
};
inline constexpr unsigned kSteps = 3, kWays = 4;
struct alignas(64) Memo {      // 192 bytes: a way's index is a lea and a shift away
  uintptr_t first, cfa, rbp;  // the program's frame, where the walk starts
  uintptr_t sp;               // the stack pointer after the steps
  uintptr_t low, top;         // the lowest slot read, and the end of the highest
  uint64_t stamp;             // the cache's generation, kRbpKey, the steps kept; 0: an empty way
  uint64_t kept;              // the caller's word (Result::kept)
  uintptr_t rbp_mask;         // all ones when the walk depends on the program's rbp (kRbpKey)
  uint32_t saved;             // bit k: step k read rbp from its frame
  Step steps[kSteps];
};
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] extern __thread Memo t_memo[kWays];
// This thread's stack, found once (pthread_getattr_np may allocate: t_busy is set by then).
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] extern __thread uintptr_t t_stack_low,
    t_stack_high;
[[gnu::visibility("hidden")]] extern std::atomic<uint32_t> g_generation;

inline Memo& of(uintptr_t first, uintptr_t cfa) {
  return t_memo[((first ^ (cfa >> 4)) * 0x9e3779b97f4a7c15u) >> 62];
}
inline uint64_t stamp(uint64_t generation, unsigned steps) { return generation << 8 | steps; }
inline constexpr uint64_t kRbpKey = 0x80;  // in the stamp: the walk depends on the program's rbp

// The walk of `steps` steps from w (the program's frame) as m kept it, if every slot it read still
// holds what it held: then out[1, steps] and w are what those steps give.
[[gnu::always_inline]] inline bool recall(const Memo& m, Walk& w, unsigned steps, uintptr_t* out) {
  if (m.first != w.pc || m.cfa != w.sp || (m.stamp & ~kRbpKey) != stamp(w.generation, steps) ||
      ((m.stamp & kRbpKey) && m.rbp != w.rbp) || m.low < w.low || m.top > w.high)
    return false;
  uintptr_t rbp = w.rbp;
  const Step* s = m.steps;
#pragma GCC unroll 3
  for (unsigned k = 0; k < kSteps; ++k) {
    if (k == steps) break;
    if (*reinterpret_cast<const uintptr_t*>(s[k].ret_slot) != s[k].ret) return false;
    if (m.saved & (1u << k)) {
      if (*reinterpret_cast<const uintptr_t*>(s[k].rbp_slot) != s[k].rbp) return false;
      rbp = s[k].rbp;
    }
    out[k + 1] = s[k].ret;
  }
  w.pc = s[steps - 1].ret, w.sp = m.sp, w.rbp = rbp;
  return true;
}

}  // namespace memo

// The default depth (4: the program's frame and three steps), all from the memo: its way, or
// nullptr. Its slots lie in this thread's stack (above the frame it was walked from: the way's
// cfa, this call's), so there are no bounds to check. The return addresses' slots are compared
// at once without a branch, and so are the saved rbp's when a step read one (Memo::saved). Its
// frames: `first`, then steps[0..2].ret. kTrusted: the frame was taken from the stack pointer of
// this very call (passed in registers by the entry point), so its return address is known to be
// in its place below the CFA; otherwise (a frame noted in caller::frame()) that is checked.
template <bool kTrusted = false>
[[gnu::always_inline]] inline memo::Memo* recall_default(uintptr_t first, uintptr_t cfa, uintptr_t rbp) {
  memo::Memo* m = &memo::of(first, cfa);
  uint64_t want = memo::stamp(memo::g_generation.load(std::memory_order_acquire), memo::kSteps);
  if (m->first != first || m->cfa != cfa || (m->stamp & ~memo::kRbpKey) != want ||
      ((m->rbp ^ rbp) & m->rbp_mask) != 0)
    return nullptr;
  if constexpr (!kTrusted) {
    uintptr_t sp;
    asm volatile("mov %%rsp, %0" : "=r"(sp));
    if (cfa - 8 < sp || *reinterpret_cast<const uintptr_t*>(cfa - 8) != first) return nullptr;
  }
  const memo::Step* s = m->steps;
  auto at = [](uintptr_t slot) { return *reinterpret_cast<const uintptr_t*>(slot); };
  uintptr_t differ = (at(s[0].ret_slot) ^ s[0].ret) | (at(s[1].ret_slot) ^ s[1].ret) |
                     (at(s[2].ret_slot) ^ s[2].ret);
  if (__builtin_expect(m->saved != 0, 0))
    differ |= (at(s[0].rbp_slot) ^ s[0].rbp) | (at(s[1].rbp_slot) ^ s[1].rbp) |
              (at(s[2].rbp_slot) ^ s[2].rbp);
  return __builtin_expect(differ == 0, 1) ? m : nullptr;
}

// capture(), whose common case runs inline in the caller (the Malloc Log's note, 25 instructions
// of call and frame less): the default depth from a trusted program's frame (its return address
// still in its place below the CFA: this call's, not an earlier one's), found in the memo. Any
// other depth, or a walk not in the memo, is capture()'s (which looks in the memo first too).
[[gnu::always_inline]] inline Result capture_inline(uintptr_t first, uintptr_t cfa, uintptr_t rbp,
                                                    uintptr_t* out, unsigned depth) {
  if (depth == memo::kSteps + 1) {
    if (memo::Memo* m = recall_default(first, cfa, rbp)) {
      out[0] = first, out[1] = m->steps[0].ret, out[2] = m->steps[1].ret, out[3] = m->steps[2].ret;
      Result res;
      res.frames = depth;
      res.kept = &m->kept;
      return res;
    }
  }
  return capture(first, cfa, rbp, out, depth);
}

// A module is unloaded (dlclose has returned): no rule read so far is used again, since another
// module may be mapped where it was. Lock-free; safe while other threads capture.
void forget_rules();

// Counters of the rule cache, for the statistics.
struct Counters {
  uint64_t misses = 0;        // rules found the slow way (.eh_frame)
  uint64_t cached_rules = 0;  // return addresses in the cache
  uint64_t walked = 0;        // captures without a noted frame: walked up through the allocator
  uint64_t forgotten = 0;     // forget_rules() calls
};
void counters(Counters* out);

}  // namespace aixmalloc::stack
