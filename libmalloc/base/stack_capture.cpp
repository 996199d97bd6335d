// Stack capture (stack_capture.h): an x86-64 unwinder over the modules' .eh_frame call-frame
// information, with a cache of one packed rule per return address. Only what a return address
// needs is tracked: the CFA (from rsp or rbp plus an offset), where the return address is saved and
// where rbp is saved; any other rule (expressions, a CFA in another register) ends the stack there.
#include "libmalloc/base/stack_capture.h"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstring>

namespace aixmalloc::stack {

__thread bool t_busy = false;

namespace {

// DWARF register numbers of x86-64.
constexpr unsigned kRbp = 6, kRsp = 7, kReturn = 16;

// A rule, packed in one word so the cache can publish it with one store:
//   bits  0-27  CFA offset (unsigned)              bit 28  CFA from rbp (else rsp)
//   bits 32-39  return address at CFA + 8*n        bit 29  rbp saved at CFA + 8*m (bits 40-47)
//   bit  30     outermost frame (return address undefined)
//   bit  31     no usable rule: the stack ends here
//   bits 48-63  the cache's generation when the rule was read (never 0: an empty slot is 0)
constexpr uint64_t kOffsetMask = (uint64_t{1} << 28) - 1, kFromRbp = uint64_t{1} << 28,
                   kRbpSaved = uint64_t{1} << 29, kOutermost = uint64_t{1} << 30,
                   kUnusable = uint64_t{1} << 31;
constexpr unsigned kRetShift = 32, kRbpShift = 40, kGenerationShift = 48;

// --- reading .eh_frame ---------------------------------------------------------------------------

struct Cursor {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;

  uint8_t u8() {
    if (p >= end) return fail();
    return *p++;
  }
  template <class T>
  T fixed() {
    if (end - p < static_cast<ptrdiff_t>(sizeof(T))) return static_cast<T>(fail());
    T v;
    memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      uint8_t b = u8();
      v |= uint64_t{b & 0x7fu} << shift;
      if (!(b & 0x80)) return v;
    }
    return fail();
  }
  int64_t sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
      b = u8();
      v |= static_cast<int64_t>(uint64_t{b & 0x7fu} << shift);
      shift += 7;
    } while ((b & 0x80) && shift < 64);
    if (shift < 64 && (b & 0x40)) v |= -(int64_t{1} << shift);
    return v;
  }
  void skip(uint64_t n) {
    if (static_cast<uint64_t>(end - p) < n) {
      fail();
      return;
    }
    p += n;
  }
  uint8_t fail() {
    ok = false;
    p = end;
    return 0;
  }

  // A pointer in the DW_EH_PE encoding `enc`, relative to its own place (pcrel) or to `data`
  // (datarel). Indirect pointers are not followed (only a personality routine uses them).
  uintptr_t encoded(uint8_t enc, uintptr_t data) {
    if (enc == 0xff) return 0;  // omitted
    uintptr_t here = reinterpret_cast<uintptr_t>(p);
    uint64_t v;
    switch (enc & 0x0f) {
      case 0x00: v = fixed<uint64_t>(); break;
      case 0x01: v = uleb(); break;
      case 0x02: v = fixed<uint16_t>(); break;
      case 0x03: v = fixed<uint32_t>(); break;
      case 0x04: v = fixed<uint64_t>(); break;
      case 0x09: v = static_cast<uint64_t>(sleb()); break;
      case 0x0a: v = static_cast<uint64_t>(int64_t{fixed<int16_t>()}); break;
      case 0x0b: v = static_cast<uint64_t>(int64_t{fixed<int32_t>()}); break;
      case 0x0c: v = fixed<uint64_t>(); break;
      default: return fail();
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case 0x10: v += here; break;
      case 0x30: v += data; break;
      default: return fail();
    }
    return v;
  }
};

struct Cie {
  uint64_t code_align = 1;
  int64_t data_align = -8;
  uint8_t fde_enc = 0;
  const uint8_t* program = nullptr;
  const uint8_t* program_end = nullptr;
  bool augmented = false;  // 'z': FDEs carry an augmentation length
};

bool read_cie(const uint8_t* at, Cie* c) {
  uint32_t length;
  memcpy(&length, at, 4);
  if (length == 0 || length == 0xffffffffu) return false;
  Cursor r{at + 8, at + 4 + length};
  uint8_t version = r.u8();
  const char* aug = reinterpret_cast<const char*>(r.p);
  size_t aug_len = strnlen(aug, static_cast<size_t>(r.end - r.p));
  r.skip(aug_len + 1);
  if (strstr(aug, "eh")) return false;  // the pre-DWARF2 form
  c->code_align = r.uleb();
  c->data_align = r.sleb();
  uint64_t return_register = version == 1 ? r.u8() : r.uleb();
  if (return_register != kReturn) return false;
  if (aug[0] == 'z') {
    c->augmented = true;
    uint64_t n = r.uleb();
    Cursor data{r.p, r.p + n < r.end ? r.p + n : r.end};
    for (const char* a = aug + 1; *a && data.ok; ++a) {
      if (*a == 'R') {
        c->fde_enc = data.u8();
      } else if (*a == 'P') {
        uint8_t enc = data.u8();
        data.encoded(enc & 0x7f, 0);
      } else if (*a == 'L') {
        data.u8();
      } else if (*a != 'S' && *a != 'B') {
        break;
      }
    }
    r.skip(n);
  }
  c->program = r.p;
  c->program_end = r.end;
  return r.ok;
}

// What the call-frame program says of the registers we track, at one address.
enum class Saved : uint8_t { kSame, kAt, kUndefined, kUnknown };
struct Row {
  unsigned cfa_reg = kRsp;
  int64_t cfa_offset = 8;
  bool cfa_usable = true;
  Saved rbp = Saved::kSame, ret = Saved::kAt;
  int64_t rbp_at = 0, ret_at = -8;
};

void set_saved(Row* row, uint64_t reg, Saved how, int64_t at) {
  if (reg == kRbp) row->rbp = how, row->rbp_at = at;
  if (reg == kReturn) row->ret = how, row->ret_at = at;
}

// Runs a call-frame program from `loc` while the rows it describes start at or below `target`.
bool run_program(Cursor r, const Cie& c, const Row& initial, Row* row, uintptr_t loc, uintptr_t target) {
  constexpr unsigned kStates = 8;
  Row remembered[kStates];
  unsigned depth = 0;
  auto advance = [&](uint64_t delta) {
    loc += delta * c.code_align;
    return loc <= target;
  };
  while (r.ok && r.p < r.end) {
    uint8_t op = r.u8();
    uint8_t low = op & 0x3f;
    switch (op & 0xc0) {
      case 0x40:
        if (!advance(low)) return true;
        continue;
      case 0x80:
        set_saved(row, low, Saved::kAt, static_cast<int64_t>(r.uleb()) * c.data_align);
        continue;
      case 0xc0:
        if (low == kRbp) row->rbp = initial.rbp, row->rbp_at = initial.rbp_at;
        if (low == kReturn) row->ret = initial.ret, row->ret_at = initial.ret_at;
        continue;
      default:
        break;
    }
    uint64_t reg;
    switch (op) {
      case 0x00: break;  // nop
      case 0x01: loc = r.encoded(c.fde_enc, 0); if (loc > target) return true; break;
      case 0x02: if (!advance(r.u8())) return true; break;
      case 0x03: if (!advance(r.fixed<uint16_t>())) return true; break;
      case 0x04: if (!advance(r.fixed<uint32_t>())) return true; break;
      case 0x05: reg = r.uleb(); set_saved(row, reg, Saved::kAt, static_cast<int64_t>(r.uleb()) * c.data_align); break;
      case 0x06:
        reg = r.uleb();
        if (reg == kRbp) row->rbp = initial.rbp, row->rbp_at = initial.rbp_at;
        if (reg == kReturn) row->ret = initial.ret, row->ret_at = initial.ret_at;
        break;
      case 0x07: set_saved(row, r.uleb(), Saved::kUndefined, 0); break;
      case 0x08: set_saved(row, r.uleb(), Saved::kSame, 0); break;
      case 0x09: reg = r.uleb(); r.uleb(); set_saved(row, reg, Saved::kUnknown, 0); break;
      case 0x0a: if (depth < kStates) remembered[depth] = *row; ++depth; break;
      case 0x0b:
        if (depth == 0 || depth > kStates) return false;
        {
          // The CFA is not part of the remembered state in GCC's reading, but both agree in
          // practice: restore the registers' rules and keep the CFA as remembered too.
          *row = remembered[--depth];
        }
        break;
      case 0x0c: row->cfa_reg = static_cast<unsigned>(r.uleb()); row->cfa_offset = static_cast<int64_t>(r.uleb()); row->cfa_usable = true; break;
      case 0x0d: row->cfa_reg = static_cast<unsigned>(r.uleb()); break;
      case 0x0e: row->cfa_offset = static_cast<int64_t>(r.uleb()); break;
      case 0x0f: r.skip(r.uleb()); row->cfa_usable = false; break;
      case 0x10: reg = r.uleb(); r.skip(r.uleb()); set_saved(row, reg, Saved::kUnknown, 0); break;
      case 0x11: reg = r.uleb(); set_saved(row, reg, Saved::kAt, r.sleb() * c.data_align); break;
      case 0x12: row->cfa_reg = static_cast<unsigned>(r.uleb()); row->cfa_offset = r.sleb() * c.data_align; row->cfa_usable = true; break;
      case 0x13: row->cfa_offset = r.sleb() * c.data_align; break;
      case 0x14: reg = r.uleb(); r.uleb(); set_saved(row, reg, Saved::kUnknown, 0); break;
      case 0x15: reg = r.uleb(); r.sleb(); set_saved(row, reg, Saved::kUnknown, 0); break;
      case 0x16: reg = r.uleb(); r.skip(r.uleb()); set_saved(row, reg, Saved::kUnknown, 0); break;
      case 0x2e: r.uleb(); break;  // GNU_args_size
      case 0x2f: reg = r.uleb(); set_saved(row, reg, Saved::kAt, -static_cast<int64_t>(r.uleb()) * c.data_align); break;
      default: return false;
    }
  }
  return r.ok;
}

uint64_t pack(const Row& row) {
  if (row.ret == Saved::kUndefined) return kOutermost;
  auto slot_ok = [](int64_t at) { return at % 8 == 0 && at >= -1024 && at < 1024; };
  bool usable = row.cfa_usable && (row.cfa_reg == kRsp || row.cfa_reg == kRbp) &&
                row.cfa_offset >= 0 && static_cast<uint64_t>(row.cfa_offset) <= kOffsetMask &&
                row.ret == Saved::kAt && slot_ok(row.ret_at) && row.rbp != Saved::kUnknown &&
                row.rbp != Saved::kUndefined && slot_ok(row.rbp_at);
  if (!usable) return kUnusable;
  uint64_t rule = static_cast<uint64_t>(row.cfa_offset);
  if (row.cfa_reg == kRbp) rule |= kFromRbp;
  rule |= uint64_t{static_cast<uint8_t>(static_cast<int8_t>(row.ret_at / 8))} << kRetShift;
  if (row.rbp == Saved::kAt) {
    rule |= kRbpSaved;
    rule |= uint64_t{static_cast<uint8_t>(static_cast<int8_t>(row.rbp_at / 8))} << kRbpShift;
  }
  return rule;
}

// The slow path: the rule at `pc` (an address inside the instruction of interest) from the
// module's .eh_frame_hdr search table. Lock-free and allocation-free.
uint64_t find_rule(uintptr_t pc) {
  dl_find_object found;
  if (_dl_find_object(reinterpret_cast<void*>(pc), &found) != 0 || found.dlfo_eh_frame == nullptr)
    return kUnusable;
  const uint8_t* hdr = static_cast<const uint8_t*>(found.dlfo_eh_frame);
  uintptr_t base = reinterpret_cast<uintptr_t>(hdr);
  if (hdr[0] != 1 || hdr[3] != 0x3b) return kUnusable;  // version 1, datarel sdata4 table
  Cursor h{hdr + 4, hdr + 4 + 16};
  h.encoded(hdr[1], base);
  uint64_t count = h.encoded(hdr[2], base);
  if (!h.ok || count == 0) return kUnusable;
  const uint8_t* table = h.p;
  auto entry = [&](uint64_t i, unsigned half) {
    int32_t v;
    memcpy(&v, table + i * 8 + half * 4, 4);
    return base + static_cast<uintptr_t>(static_cast<intptr_t>(v));
  };
  // The last entry whose start is at or below pc.
  uint64_t lo = 0, hi = count;
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (entry(mid, 0) <= pc) lo = mid; else hi = mid;
  }
  if (entry(lo, 0) > pc) return kUnusable;
  const uint8_t* fde = reinterpret_cast<const uint8_t*>(entry(lo, 1));
  uint32_t length;
  memcpy(&length, fde, 4);
  if (length == 0 || length == 0xffffffffu) return kUnusable;
  Cursor r{fde + 4, fde + 4 + length};
  int32_t cie_offset = r.fixed<int32_t>();
  Cie cie;
  if (!read_cie(fde + 4 - cie_offset, &cie)) return kUnusable;
  uintptr_t start = r.encoded(cie.fde_enc, 0);
  uintptr_t range = r.encoded(cie.fde_enc & 0x0f, 0);
  if (!r.ok || pc < start || pc - start >= range) return kUnusable;
  if (cie.augmented) r.skip(r.uleb());
  Row initial;
  if (!run_program(Cursor{cie.program, cie.program_end}, cie, initial, &initial, 0, UINTPTR_MAX))
    return kUnusable;
  Row row = initial;
  if (!run_program(r, cie, initial, &row, start, pc)) return kUnusable;
  return pack(row);
}

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
Slot g_cache[kCacheSlots];
std::atomic<uint64_t> g_misses{0}, g_cached{0}, g_walked{0};
std::atomic<uint32_t> g_generation{1}, g_forgotten{0};

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

// This thread's stack, found once (pthread_getattr_np may allocate: t_busy is set by then).
__thread uintptr_t t_stack_low = 0, t_stack_high = 0;

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

// One frame while unwinding: where it executes (a return address, or one more than an address
// inside the instruction of interest), its stack pointer and rbp; the stack's readable range
// [low, high) and the cache's generation.
struct Walk {
  uintptr_t pc, sp, rbp;
  uintptr_t low, high;
  uint64_t generation;
};
enum class Step { kNext, kEnd, kLost };

// What a step read from the stack, for the memo below: where the caller's return address was and
// it, where rbp was saved (0: the frame did not save it) and it.
struct MemoStep {
  uintptr_t ret_slot, ret, rbp_slot, rbp;
};

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
constexpr unsigned kMemoSteps = 3, kMemoWays = 4;
struct Memo {
  uintptr_t first, cfa, rbp;  // the program's frame, where the walk starts
  uintptr_t sp;               // the stack pointer after the steps
  uintptr_t low, top;         // the lowest slot read, and the end of the highest
  uint64_t stamp;             // the cache's generation, kRbpKey, the steps kept; 0: an empty way
  uint64_t kept;              // the caller's word (Result::kept)
  MemoStep steps[kMemoSteps];
};
__thread Memo t_memo[kMemoWays];

inline Memo& memo_of(uintptr_t first, uintptr_t cfa) {
  return t_memo[((first ^ (first >> 7) ^ (cfa >> 4)) * 0x9e3779b97f4a7c15u) >> 62];
}
inline uint64_t memo_stamp(uint64_t generation, unsigned steps) { return generation << 8 | steps; }
constexpr uint64_t kRbpKey = 0x80;  // in the stamp: the walk depends on the program's rbp

// The walk of `steps` steps from w (the program's frame) as m kept it, if every slot it read still
// holds what it held: then out[1, steps] and w are what those steps give.
[[gnu::always_inline]] inline bool recall(const Memo& m, Walk& w, unsigned steps, uintptr_t* out) {
  if (m.first != w.pc || m.cfa != w.sp || (m.stamp & ~kRbpKey) != memo_stamp(w.generation, steps) ||
      ((m.stamp & kRbpKey) && m.rbp != w.rbp) || m.low < w.low || m.top > w.high)
    return false;
  uintptr_t rbp = w.rbp;
  const MemoStep* s = m.steps;
#pragma GCC unroll 3
  for (unsigned k = 0; k < kMemoSteps; ++k) {
    if (k == steps) break;
    if (*reinterpret_cast<const uintptr_t*>(s[k].ret_slot) != s[k].ret) return false;
    if (uintptr_t at = s[k].rbp_slot) {
      if (*reinterpret_cast<const uintptr_t*>(at) != s[k].rbp) return false;
      rbp = s[k].rbp;
    }
    out[k + 1] = s[k].ret;
  }
  w.pc = s[steps - 1].ret, w.sp = m.sp, w.rbp = rbp;
  return true;
}

[[gnu::noinline]] void walk_on(Walk& w, uintptr_t* out, unsigned depth, Result* res) { walk(w, out, depth, res); }

// From the program's frame w (out[0] filled): `steps` steps taken and kept in m, then on to `depth`.
[[gnu::noinline]] void walk_and_keep(Memo& m, Walk& w, uintptr_t* out, unsigned depth, unsigned steps, Result* res) {
  Memo fresh{w.pc, w.sp, w.rbp, 0, w.high, 0, memo_stamp(w.generation, steps), 0, {}};
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
