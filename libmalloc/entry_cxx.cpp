// Every C++ allocation and deallocation function, in the same library as malloc, so that a program
// that mixes new and malloc never sees two allocators. new throws std::bad_alloc after trying the
// new-handler, as the standard says; the nothrow forms return nullptr.
#include <cstddef>
#include <new>

#include "libmalloc/runtime.h"

#define AIX_EXPORT __attribute__((visibility("default")))

using aixmalloc::rt::allocate;
using aixmalloc::rt::allocate_aligned;
using aixmalloc::rt::release;

namespace {

void* new_or_throw(std::size_t size, std::size_t align) {
  for (;;) {
    void* p = align ? allocate_aligned(align, size) : allocate(size);
    if (p) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* new_nothrow(std::size_t size, std::size_t align) noexcept {
  try {
    return new_or_throw(size, align);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

AIX_EXPORT void* operator new(std::size_t n) { return new_or_throw(n, 0); }
AIX_EXPORT void* operator new[](std::size_t n) { return new_or_throw(n, 0); }
AIX_EXPORT void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 0); }
AIX_EXPORT void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n, 0); }
AIX_EXPORT void* operator new(std::size_t n, std::align_val_t a) {
  return new_or_throw(n, static_cast<std::size_t>(a));
}
AIX_EXPORT void* operator new[](std::size_t n, std::align_val_t a) {
  return new_or_throw(n, static_cast<std::size_t>(a));
}
AIX_EXPORT void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_nothrow(n, static_cast<std::size_t>(a));
}
AIX_EXPORT void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_nothrow(n, static_cast<std::size_t>(a));
}

AIX_EXPORT void operator delete(void* p) noexcept { release(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p) noexcept { release(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept { release(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  release(p, "operator delete[]");
}
AIX_EXPORT void operator delete(void* p, std::size_t) noexcept { release(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, std::size_t) noexcept { release(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, std::align_val_t) noexcept { release(p, "operator delete"); }
AIX_EXPORT void operator delete[](void* p, std::align_val_t) noexcept { release(p, "operator delete[]"); }
AIX_EXPORT void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  release(p, "operator delete");
}
AIX_EXPORT void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  release(p, "operator delete[]");
}
AIX_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, "operator delete");
}
AIX_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  release(p, "operator delete[]");
}
