// Stack capture (stack_capture.h): an x86-64 unwinder over the modules' .eh_frame call-frame
// information (eh_frame.h), with a cache of one packed rule per return address and a per-thread
// memo of the last walks. Only what a return address needs is tracked: the CFA (from rsp or rbp
// plus an offset), where the return address is saved and where rbp is saved; any other rule
// (expressions, a CFA in another register) ends the stack there.
#include "libmalloc/base/stack_capture.h"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstring>

#include "libmalloc/base/eh_frame.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::stack {

__thread bool t_busy = false;

namespace memo {
std::atomic<uint32_t> g_generation{1};
__thread uintptr_t t_stack_low = 0, t_stack_high = 0;
__thread Memo t_memo[kWays];
}  // namespace memo

namespace {

// --- the cache -----------------------------------------------------------------------------------
// Open addressing, insert-only: a key, once written, keeps its slot; its rule follows it and is
// used only while its generation is the cache's. A module unloaded (forget_rules(), from dlclose)
// moves the cache to the next generation, so no rule read from it is used again, even when
// another module is mapped at the same addresses. A full neighbourhood only costs the slow path
// again.
constexpr unsigned kCacheBits = 15;
constexpr size_t kCacheSlots = size_t{1} << kCacheBits;
constexpr unsigned kProbes = 8;
struct Slot {
  std::atomic<uintptr_t> key;
  std::atomic<uint64_t> rule;
};
AIXMALLOC_LARGE_TABLE Slot g_cache[kCacheSlots];
std::atomic<uint64_t> g_misses{0}, g_cached{0}, g_walked{0};
std::atomic<uint32_t> g_forgotten{0};
using memo::g_generation;

inline size_t home_of(uintptr_t ret) { return (ret * 0x9e3779b97f4a7c15u) >> (64 - kCacheBits); }

// Not at its home slot, or not of this generation: the neighbourhood, then the CFI.
[[gnu::noinline]] uint64_t rule_slow(uintptr_t ret, uint64_t generation) {
  size_t at = home_of(ret);
  for (unsigned i = 0; i < kProbes; ++i) {
    Slot& s = g_cache[(at + i) & (kCacheSlots - 1)];
    uintptr_t k = s.key.load(std::memory_order_acquire);
    if (k == ret) {
      uint64_t rule = s.rule.load(std::memory_order_acquire);
      if ((rule >> kGenerationShift) == generation) return rule;
      break;
    }
    if (k == 0) break;
  }
  g_misses.fetch_add(1, std::memory_order_relaxed);
  // A return address points after its call: the rule of the call instruction is at ret - 1.
  uint64_t rule = find_rule(ret - 1) | generation << kGenerationShift;
  for (unsigned i = 0; i < kProbes; ++i) {
    Slot& s = g_cache[(at + i) & (kCacheSlots - 1)];
    uintptr_t expected = 0;
    if (s.key.compare_exchange_strong(expected, ret, std::memory_order_acq_rel) || expected == ret) {
      // Two threads may store here at once: each its own generation's rule, read after it took
      // the generation, so a rule never carries a generation newer than the modules it saw.
      s.rule.store(rule, std::memory_order_release);
      if (expected == 0) g_cached.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  return rule;
}

[[gnu::always_inline]] inline uint64_t rule_for(uintptr_t ret, uint64_t generation) {
  const Slot& s = g_cache[home_of(ret)];
  if (__builtin_expect(s.key.load(std::memory_order_acquire) == ret, 1)) {
    uint64_t rule = s.rule.load(std::memory_order_acquire);
    if (__builtin_expect((rule >> kGenerationShift) == generation, 1)) return rule;
  }
  return rule_slow(ret, generation);
}

using memo::t_stack_high;
using memo::t_stack_low;

bool stack_bounds(uintptr_t sp, uintptr_t* high) {
  if (!(sp >= t_stack_low && sp < t_stack_high)) {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return false;
    void* addr = nullptr;
    size_t size = 0;
    bool got = pthread_attr_getstack(&attr, &addr, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!got) return false;
    t_stack_low = reinterpret_cast<uintptr_t>(addr);
    t_stack_high = t_stack_low + size;
    // On another stack (sigaltstack): not this thread's main stack.
    if (!(sp >= t_stack_low && sp < t_stack_high)) return false;
  }
  *high = t_stack_high;
  return true;
}

// Whether pc is in this library (whose own frames a stack never records).
bool in_this_library(uintptr_t pc) {
  static std::atomic<uintptr_t> start{0}, end{0};
  if (end.load(std::memory_order_acquire) == 0) {
    dl_find_object self;
    if (_dl_find_object(reinterpret_cast<void*>(&in_this_library), &self) != 0) return false;
    start.store(reinterpret_cast<uintptr_t>(self.dlfo_map_start), std::memory_order_relaxed);
    end.store(reinterpret_cast<uintptr_t>(self.dlfo_map_end), std::memory_order_release);
  }
  uintptr_t at = pc - 1;
  return at >= start.load(std::memory_order_relaxed) && at < end.load(std::memory_order_relaxed);
}

using memo::Walk;
enum class Step { kNext, kEnd, kLost };

using MemoStep = memo::Step;

// From w's frame to its caller's: kEnd at the outermost frame, kLost where the stack cannot be
// followed (no usable rule, or a slot outside the stack). `seen`, when not null: what it read, and
// whether the CFA came from rbp.
[[gnu::always_inline]] inline Step step(Walk& w, MemoStep* seen = nullptr, bool* from_rbp = nullptr) {
  uint64_t rule = rule_for(w.pc, w.generation);
  if (rule & (kOutermost | kUnusable)) return (rule & kOutermost) ? Step::kEnd : Step::kLost;
  if (from_rbp) *from_rbp = rule & kFromRbp;
  uintptr_t cfa = ((rule & kFromRbp) ? w.rbp : w.sp) + (rule & kOffsetMask);
  auto at = [cfa](uint64_t field) {
    return cfa + static_cast<uintptr_t>(int64_t{static_cast<int8_t>(field & 0xff)} * 8);
  };
  uintptr_t ret_slot = at(rule >> kRetShift);
  if (cfa <= w.sp || ret_slot < w.low || ret_slot + 8 > w.high) return Step::kLost;
  uintptr_t ret;
  memcpy(&ret, reinterpret_cast<const void*>(ret_slot), 8);
  uintptr_t rbp_slot = 0;
  if (rule & kRbpSaved) {
    rbp_slot = at(rule >> kRbpShift);
    if (rbp_slot < w.low || rbp_slot + 8 > w.high) return Step::kLost;
    memcpy(&w.rbp, reinterpret_cast<const void*>(rbp_slot), 8);
  }
  if (seen) *seen = MemoStep{ret_slot, ret, rbp_slot, w.rbp};
  w.sp = cfa;
  w.pc = ret;
  return ret == 0 ? Step::kEnd : Step::kNext;
}

// Frames above out[res->frames - 1] (w's), up to `depth` in all.
[[gnu::always_inline]] inline void walk(Walk& w, uintptr_t* out, unsigned depth, Result* res) {
  while (res->frames < depth) {
    Step s = step(w);
    if (s != Step::kNext) {
      res->truncated = s == Step::kLost;
      return;
    }
    out[res->frames++] = w.pc;
  }
}

// --- the memo of this thread's walks ---------------------------------------------------------------
// A program allocates from a few call sites, in the same frames, again and again: a walk from the
// same frame (return address and CFA; rbp too when a rule takes the CFA from it before a frame
// restores it: code without a frame pointer uses rbp as any other register) reads the same stack
// slots, and while they hold the same values it finds the same callers, since a rule depends on
// its return address alone (within a generation of the cache). So each thread keeps its last
// walks, one per way, with every slot each step read and the value it found; a walk whose slots
// all still hold those values is taken from there without looking up a rule. Its first
// kMemoSteps steps are kept; a deeper stack is walked on from where they end. Only walks that
// took all those steps are kept.
constexpr unsigned kMemoSteps = memo::kSteps;
using memo::Memo;
using memo::recall;
inline Memo& memo_of(uintptr_t first, uintptr_t cfa) { return memo::of(first, cfa); }
inline uint64_t memo_stamp(uint64_t generation, unsigned steps) {
  return memo::stamp(generation, steps);
}
using memo::kRbpKey;

[[gnu::noinline]] void walk_on(Walk& w, uintptr_t* out, unsigned depth, Result* res) { walk(w, out, depth, res); }

// From the program's frame w (out[0] filled): `steps` steps taken and kept in m, then on to `depth`.
[[gnu::noinline]] void walk_and_keep(Memo& m, Walk& w, uintptr_t* out, unsigned depth, unsigned steps, Result* res) {
  Memo fresh{w.pc, w.sp, w.rbp, 0, w.high, 0, memo_stamp(w.generation, steps), 0, 0, 0, {}};
  bool restored = false;  // rbp read from a frame: the program's rbp is no longer used
  for (unsigned k = 0; k < steps; ++k) {
    bool from_rbp = false;
    Step s = step(w, &fresh.steps[k], &from_rbp);
    if (from_rbp && !restored) fresh.stamp |= kRbpKey;
    restored |= fresh.steps[k].rbp_slot != 0;
    if (s != Step::kNext) {
      res->truncated = s == Step::kLost;
      return;
    }
    out[res->frames++] = w.pc;
    const MemoStep& seen = fresh.steps[k];
    uintptr_t lo = seen.ret_slot, hi = seen.ret_slot;
    if (seen.rbp_slot != 0) lo = seen.rbp_slot < lo ? seen.rbp_slot : lo, hi = seen.rbp_slot > hi ? seen.rbp_slot : hi;
    if (lo < fresh.low) fresh.low = lo;
    if (hi + 8 > fresh.top) fresh.top = hi + 8;
  }
  fresh.sp = w.sp;
  m = fresh;
  m.rbp_mask = (m.stamp & kRbpKey) ? ~uintptr_t{0} : 0;
  for (unsigned k = 0; k < steps; ++k) {
    if (m.steps[k].rbp_slot != 0)
      m.saved |= 1u << k;
    else
      m.steps[k].rbp_slot = reinterpret_cast<uintptr_t>(&m.steps[k].rbp);
  }
  if (res->frames == depth) res->kept = &m.kept;
  walk(w, out, depth, res);
}

// From w, walk()'s own frame (called by capture()), up through the allocator's frames (a handful) to the program's
// call; with no call noted (the first allocation, made before the log was configured), to the
// first frame outside this library.
[[gnu::noinline]] void walk_up(Walk w, uintptr_t first, uintptr_t* out, unsigned depth, Result* res) {
  if (first != 0) g_walked.fetch_add(1, std::memory_order_relaxed);
  w.pc += 1;  // walk()'s own place is not a return address: its rule is at pc itself
  Walk from_here = w;
  bool found = false;
  for (unsigned n = 0; !found && n < 32; ++n) {
    if (step(w) != Step::kNext) break;
    found = first == 0 ? !in_this_library(w.pc) : w.pc == first;
  }
  if (!found && first == 0) {  // no frame outside this library: from capture()'s caller
    w = from_here;
    found = step(w) == Step::kNext && step(w) == Step::kNext;
  }
  if (found) {
    out[res->frames++] = w.pc;
    walk(w, out, depth, res);
    return;
  }
  // The program's call was not met (a frame without a rule inside the allocator): its call site
  // alone.
  if (first != 0) out[res->frames++] = first;
  res->truncated = res->frames < depth;
}

// capture() when the memo cannot answer alone.
[[gnu::noinline]] Result walk(uintptr_t first, uintptr_t cfa, uintptr_t rbp, uintptr_t* out, unsigned depth) {
  Result res;
  if (depth == 0) return res;
  Walk w;
  asm volatile("lea 1f(%%rip), %0\n1:\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
               : "=r"(w.pc), "=r"(w.sp), "=r"(w.rbp));
  w.low = w.sp;
  if (!stack_bounds(w.sp, &w.high)) {
    if (first != 0) out[res.frames++] = first;
    res.truncated = res.frames < depth;
    return res;
  }
  w.generation = g_generation.load(std::memory_order_acquire);
  // The program's frame as its entry point's thunk noted it: trusted only when the call's return
  // address is still in its place below the CFA (this call's, then, not an earlier one's).
  if (first != 0 && cfa % 8 == 0 && cfa - 8 >= w.low && cfa <= w.high &&
      *reinterpret_cast<const uintptr_t*>(cfa - 8) == first) {
    w.pc = first, w.sp = cfa, w.rbp = rbp;
    out[res.frames++] = first;
    unsigned steps = depth - 1 < kMemoSteps ? depth - 1 : kMemoSteps;
    if (steps == 0) return res;
    Memo& m = memo_of(first, cfa);
    if (recall(m, w, steps, out)) {
      res.frames += steps;
      if (res.frames < depth) walk_on(w, out, depth, &res);
      return res;
    }
    walk_and_keep(m, w, out, depth, steps, &res);
    return res;
  }
  walk_up(w, first, out, depth, &res);
  return res;
}

}  // namespace

// The common case first, in registers: a stack no deeper than the memo keeps, from a trusted
// program's frame (as below), found in the memo.
Result capture(uintptr_t first, uintptr_t cfa, uintptr_t rbp, uintptr_t* out, unsigned depth) {
  if (depth - 2 < kMemoSteps && first != 0) {
    Walk w;
    asm volatile("mov %%rsp, %0" : "=r"(w.low));
    if (w.low >= t_stack_low && w.low < t_stack_high && cfa % 8 == 0 && cfa - 8 >= w.low &&
        cfa <= t_stack_high && *reinterpret_cast<const uintptr_t*>(cfa - 8) == first) {
      w.high = t_stack_high;
      w.generation = g_generation.load(std::memory_order_acquire);
      w.pc = first, w.sp = cfa, w.rbp = rbp;
      Memo& m = memo_of(first, cfa);
      if (recall(m, w, depth - 1, out)) {
        out[0] = first;
        Result res;
        res.frames = depth;
        res.kept = &m.kept;
        return res;
      }
    }
  }
  return walk(first, cfa, rbp, out, depth);
}

// After dlclose (libmalloc's interposed one), once the module is gone: the next generation. Its
// 16 bits wrap after 65535 unloads; then every slot is emptied first, so no rule of an old
// generation can pass for a new one.
void forget_rules() {
  g_forgotten.fetch_add(1, std::memory_order_relaxed);
  uint32_t next = (g_generation.load(std::memory_order_relaxed) + 1) & 0xffff;
  if (next == 0) {
    for (Slot& s : g_cache) s.rule.store(0, std::memory_order_relaxed);
    next = 1;
  }
  g_generation.store(next, std::memory_order_release);
}

void counters(Counters* out) {
  out->misses = g_misses.load(std::memory_order_relaxed);
  out->cached_rules = g_cached.load(std::memory_order_relaxed);
  out->walked = g_walked.load(std::memory_order_relaxed);
  out->forgotten = g_forgotten.load(std::memory_order_relaxed);
}

}  // namespace aixmalloc::stack
