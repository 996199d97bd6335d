// The call-frame rules of x86-64 code, read from its module's .eh_frame for the stack capture
// (stack_capture.cpp): for one address, where the caller's stack pointer, return address and rbp
// are, packed in a word. Lock-free and allocation-free: callable from inside malloc.
#pragma once

#include <cstdint>

namespace aixmalloc::stack {

// A rule, packed in one word so the cache can publish it with one store:
//   bits  0-27  CFA offset (unsigned)              bit 28  CFA from rbp (else rsp)
//   bits 32-39  return address at CFA + 8*n        bit 29  rbp saved at CFA + 8*m (bits 40-47)
//   bit  30     outermost frame (return address undefined)
//   bit  31     no usable rule: the stack ends here
//   bits 48-63  the cache's generation when the rule was read (never 0: an empty slot is 0)
inline constexpr uint64_t kOffsetMask = (uint64_t{1} << 28) - 1, kFromRbp = uint64_t{1} << 28,
                   kRbpSaved = uint64_t{1} << 29, kOutermost = uint64_t{1} << 30,
                   kUnusable = uint64_t{1} << 31;
inline constexpr unsigned kRetShift = 32, kRbpShift = 40, kGenerationShift = 48;

// The rule at `pc` (an address inside the instruction of interest): kUnusable when the module has
// no search table or the address no FDE, or when a rule not tracked here applies (expressions, a
// CFA in another register).
uint64_t find_rule(uintptr_t pc);

}  // namespace aixmalloc::stack
