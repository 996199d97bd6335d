// The caller of the malloc-family call in progress, for the debug tools that choose or record by
// call site (MALLOCDEBUG functionset, and the Malloc Log's stacks). The exported entry points note
// it here, and only while a tool asks for it (one predictable branch otherwise, off the pool's
// fast path).
//
// Most entry points are thunks (AIXMALLOC_NOTING_THUNK below): a few instructions of assembly
// that run before any compiled code of ours can move the stack pointer or reuse rbp, note the
// program's frame as it was at the call (return address, stack pointer after the return, rbp),
// then jump to the C++ body. The Malloc Log starts its unwinding there and never walks the
// allocator's own frames (stack_capture.h). An entry point without a thunk notes only the return
// address (note()); the capture then finds the program's frame by walking up to it.
#pragma once

// The thunks below and the stack capture (stack_capture.cpp) are written for x86-64, the one
// architecture aixmalloc builds for today: a port writes its own thunk here.
#if !defined(__x86_64__)
#error "aixmalloc: the entry-point thunks of caller.h are x86-64 assembly; write this architecture's"
#endif

#include <cstdint>

namespace aixmalloc::caller {

// The program's frame at the call. cfa 0: only `ret` is known.
struct Frame {
  const void* ret;
  uintptr_t cfa;  // the caller's stack pointer once the call returns (the call's CFA)
  uintptr_t rbp;  // the caller's rbp at the call (callee-saved: every frame of ours keeps it)
};
static_assert(sizeof(Frame) == 24, "the thunks store at offsets 0, 8 and 16");

// The assembly below names these two; hidden, so it reaches them without the GOT.
[[gnu::visibility("hidden")]] inline bool g_wanted asm("aixmalloc_caller_wanted") = false;
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] inline thread_local Frame t_frame asm(
    "aixmalloc_caller_frame") = {};

inline void note(const void* return_address) {
  if (__builtin_expect(g_wanted, 0)) t_frame = Frame{return_address, 0, 0};
}
inline const void* current() { return t_frame.ret; }
inline const Frame& frame() { return t_frame; }
inline void forget() { t_frame = Frame{}; }

}  // namespace aixmalloc::caller

// The body of a naked exported function that notes its caller's frame, then jumps to `target` (a
// hidden extern "C" function with the same parameters), which returns to the program directly.
// Only r10 and r11 are used: no argument register is touched. x86-64.
#define AIXMALLOC_NOTING_THUNK(target)                                   \
  asm("cmpb $0, aixmalloc_caller_wanted(%rip)\n\t"                       \
      "je " #target "\n\t"                                               \
      "movq aixmalloc_caller_frame@gottpoff(%rip), %r11\n\t"             \
      "movq (%rsp), %r10\n\t"                                            \
      "movq %r10, %fs:0(%r11)\n\t"                                       \
      "leaq 8(%rsp), %r10\n\t"                                           \
      "movq %r10, %fs:8(%r11)\n\t"                                       \
      "movq %rbp, %fs:16(%r11)\n\t"                                      \
      "jmp " #target)

// The same for a function that the exported entry point reaches by a tail call, passing its
// return address in the second argument (rsi): when (%rsp) holds that address, the entry point
// did jump here and rsp and rbp are still the program's; otherwise (a call, in a build that made
// none a tail call) only the return address is noted.
#define AIXMALLOC_NOTING_TAIL_THUNK(target)                              \
  asm("cmpb $0, aixmalloc_caller_wanted(%rip)\n\t"                       \
      "je " #target "\n\t"                                               \
      "movq aixmalloc_caller_frame@gottpoff(%rip), %r11\n\t"             \
      "movq %rsi, %fs:0(%r11)\n\t"                                       \
      "xorl %r10d, %r10d\n\t"                                            \
      "cmpq (%rsp), %rsi\n\t"                                            \
      "jne 1f\n\t"                                                       \
      "leaq 8(%rsp), %r10\n"                                             \
      "1:\n\t"                                                           \
      "movq %r10, %fs:8(%r11)\n\t"                                       \
      "movq %rbp, %fs:16(%r11)\n\t"                                      \
      "jmp " #target)
