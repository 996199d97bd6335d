// Every C++ allocation and deallocation function, in the same library as malloc, so that a program
// that mixes new and malloc never sees two allocators. new calls the new-handler and throws
// std::bad_alloc, as the standard says; the nothrow forms return nullptr.
//
// libstdc++ is reached only through two weak symbols. A C program therefore does not load libstdc++
// because of us (its start-up would allocate before main, which would stop mallopt(M_MXFAST) from
// choosing the policy, and it costs memory); a C++ program has it loaded and gets full behaviour.
#include <cstddef>
#include <cstdlib>
#include <new>

#include "libmalloc/base/fatal.h"
#include "libmalloc/runtime.h"

#define AIX_EXPORT __attribute__((visibility("default")))

extern "C" std::new_handler aixmalloc_get_new_handler() noexcept
    __asm__("_ZSt15get_new_handlerv") __attribute__((weak));
extern "C" [[noreturn]] void aixmalloc_throw_bad_alloc() __asm__("_ZSt17__throw_bad_allocv")
    __attribute__((weak));

using aixmalloc::rt::allocate_aligned;
using aixmalloc::rt::allocate_fast;
using aixmalloc::rt::release_fast;

namespace {

// Tries, calling the new-handler between tries while there is one. nullptr when there is none.
// `return_address`: the return address of the operator, for the debug tools (libmalloc/base/caller.h).
inline void* try_new(std::size_t size, std::size_t align, const void* return_address) {
  for (;;) {
    if (align) aixmalloc::caller::note(return_address);
    void* p = align ? allocate_aligned(align, size) : allocate_fast(size, return_address);
    if (p) return p;
    // AIXMALLOC_ZERO_SIZE=null gives malloc(0) NULL; new of 0 bytes must still return an object.
    if (size == 0 && (p = allocate_fast(1, return_address))) return p;
    std::new_handler handler = aixmalloc_get_new_handler ? aixmalloc_get_new_handler() : nullptr;
    if (handler == nullptr) return nullptr;
    handler();
  }
}

inline void* new_or_throw(std::size_t size, std::size_t align, const void* return_address) {
  void* p = try_new(size, align, return_address);
  if (p) return p;
  if (aixmalloc_throw_bad_alloc) aixmalloc_throw_bad_alloc();
  static const char kMessage[] = "operator new: out of memory and no C++ runtime to throw std::bad_alloc";
  aixmalloc::warn(kMessage, sizeof(kMessage) - 1);
  abort();
}

}  // namespace

AIX_EXPORT void* operator new(std::size_t n) { return new_or_throw(n, 0, __builtin_return_address(0)); }
AIX_EXPORT void* operator new[](std::size_t n) { return new_or_throw(n, 0, __builtin_return_address(0)); }
AIX_EXPORT void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return try_new(n, 0, __builtin_return_address(0)); }
AIX_EXPORT void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return try_new(n, 0, __builtin_return_address(0)); }
AIX_EXPORT void* operator new(std::size_t n, std::align_val_t a) {
  return new_or_throw(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
AIX_EXPORT void* operator new[](std::size_t n, std::align_val_t a) {
  return new_or_throw(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
AIX_EXPORT void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return try_new(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}
AIX_EXPORT void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return try_new(n, static_cast<std::size_t>(a), __builtin_return_address(0));
}

AIX_EXPORT void operator delete(void* p) noexcept { release_fast(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p) noexcept { release_fast(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept { release_fast(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  release_fast(p, "operator delete[]");
}
AIX_EXPORT void operator delete(void* p, std::size_t) noexcept { release_fast(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, std::size_t) noexcept { release_fast(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, std::align_val_t) noexcept { release_fast(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, std::align_val_t) noexcept { release_fast(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  release_fast(p, "operator delete");
}
AIX_EXPORT void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  release_fast(p, "operator delete[]");
}
AIX_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release_fast(p, "operator delete");
}
AIX_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release_fast(p, "operator delete[]");
}
