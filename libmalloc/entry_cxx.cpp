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

#include "libmalloc/base/caller.h"
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
// The operator's thunk has noted the caller (libmalloc/base/caller.h); a handler that allocates
// notes its own, so the operator's is put back before the next try.
[[gnu::noinline]] void* try_new_again(std::size_t size, std::size_t align) {
  const aixmalloc::caller::Frame noted = aixmalloc::caller::frame();
  for (;;) {
    void* p;
    // AIXMALLOC_ZERO_SIZE=null gives malloc(0) NULL; new of 0 bytes must still return an object.
    if (size == 0 && (p = allocate_fast<true>(1, nullptr))) return p;
    std::new_handler handler = aixmalloc_get_new_handler ? aixmalloc_get_new_handler() : nullptr;
    if (handler == nullptr) return nullptr;
    handler();
    aixmalloc::caller::t_frame = noted;
    p = align ? allocate_aligned(align, size) : allocate_fast<true>(size, nullptr);
    if (p) return p;
  }
}

inline void* try_new(std::size_t size, std::size_t align) {
  void* p = align ? allocate_aligned(align, size) : allocate_fast<true>(size, nullptr);
  return p ? p : try_new_again(size, align);
}

inline void* new_or_throw(std::size_t size, std::size_t align) {
  void* p = try_new(size, align);
  if (p) return p;
  if (aixmalloc_throw_bad_alloc) aixmalloc_throw_bad_alloc();
  static const char kMessage[] = "operator new: out of memory and no C++ runtime to throw std::bad_alloc";
  aixmalloc::warn(kMessage, sizeof(kMessage) - 1);
  abort();
}

}  // namespace

// Each operator new is a thunk that notes the caller's frame (caller.h) and jumps to its body, a
// hidden C function.
#define AIX_BODY extern "C" __attribute__((visibility("hidden")))
#define AIX_NEW_THUNK(body, ...) \
  AIX_EXPORT __attribute__((naked)) __VA_ARGS__ { AIXMALLOC_NOTING_THUNK(body); }
using std::align_val_t;
using std::nothrow_t;
using std::size_t;

AIX_BODY void* aixmalloc_new(size_t n) { return new_or_throw(n, 0); }
AIX_BODY void* aixmalloc_new_array(size_t n) { return new_or_throw(n, 0); }
AIX_BODY void* aixmalloc_new_nothrow(size_t n, const nothrow_t&) noexcept { return try_new(n, 0); }
AIX_BODY void* aixmalloc_new_array_nothrow(size_t n, const nothrow_t&) noexcept {
  return try_new(n, 0);
}
AIX_BODY void* aixmalloc_new_aligned(size_t n, align_val_t a) {
  return new_or_throw(n, static_cast<size_t>(a));
}
AIX_BODY void* aixmalloc_new_array_aligned(size_t n, align_val_t a) {
  return new_or_throw(n, static_cast<size_t>(a));
}
AIX_BODY void* aixmalloc_new_aligned_nothrow(size_t n, align_val_t a, const nothrow_t&) noexcept {
  return try_new(n, static_cast<size_t>(a));
}
AIX_BODY void* aixmalloc_new_array_aligned_nothrow(size_t n, align_val_t a,
                                                   const nothrow_t&) noexcept {
  return try_new(n, static_cast<size_t>(a));
}

AIX_NEW_THUNK(aixmalloc_new, void* operator new(size_t))
AIX_NEW_THUNK(aixmalloc_new_array, void* operator new[](size_t))
AIX_NEW_THUNK(aixmalloc_new_nothrow, void* operator new(size_t, const nothrow_t&) noexcept)
AIX_NEW_THUNK(aixmalloc_new_array_nothrow, void* operator new[](size_t, const nothrow_t&) noexcept)
AIX_NEW_THUNK(aixmalloc_new_aligned, void* operator new(size_t, align_val_t))
AIX_NEW_THUNK(aixmalloc_new_array_aligned, void* operator new[](size_t, align_val_t))
AIX_NEW_THUNK(aixmalloc_new_aligned_nothrow,
              void* operator new(size_t, align_val_t, const nothrow_t&) noexcept)
AIX_NEW_THUNK(aixmalloc_new_array_aligned_nothrow,
              void* operator new[](size_t, align_val_t, const nothrow_t&) noexcept)

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
