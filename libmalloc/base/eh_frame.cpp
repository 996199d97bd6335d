// The call-frame rules of x86-64 code (eh_frame.h): an FDE found through its module's
// .eh_frame_hdr search table, and its CIE's and its own call-frame programs run up to an address,
// tracking only the CFA, the return address and rbp.
#include "libmalloc/base/eh_frame.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstring>

namespace aixmalloc::stack {
namespace {

// DWARF register numbers of x86-64.
constexpr unsigned kRbp = 6, kRsp = 7, kReturn = 16;

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

}  // namespace

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

}  // namespace aixmalloc::stack
