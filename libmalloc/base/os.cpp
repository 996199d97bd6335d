// Linux implementation of os.h, on raw system calls wrapped by libc (mmap, mprotect, madvise,
// mremap, write, getrlimit, getauxval): none of these wrappers allocates.
#include "libmalloc/base/os.h"

#include <errno.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "libmalloc/base/platform.h"

namespace aixmalloc {

size_t page_size() {
  // Threads may ask first at the same time: both store the same value, atomically.
  static constinit std::atomic<size_t> cached{0};
  size_t v = cached.load(std::memory_order_relaxed);
  if (v == 0) {
    v = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    cached.store(v, std::memory_order_relaxed);
  }
  return v;
}

namespace os {
namespace {

// mmap with an over-sized request, then trims the ends so the result is `align`-aligned.
uintptr_t map_aligned(size_t size, size_t align, int prot, int flags) {
  if (align < page_size()) align = page_size();
  size_t padded = size + align - page_size();
  if (padded < size) return 0;
  void* raw = mmap(nullptr, padded, prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return 0;
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = align_up(start, align);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + padded;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  return aligned;
}

}  // namespace

uintptr_t reserve(size_t size, size_t align) {
  return map_aligned(size, align, PROT_NONE, MAP_NORESERVE);
}

int reserve_at(uintptr_t addr, size_t size) {
  int saved = errno;
  // MAP_FIXED_NOREPLACE fails rather than replace a mapping. A kernel older than 4.17, or a
  // tool such as valgrind, may take it as a mere hint and map elsewhere: that counts as taken.
  void* p = mmap(reinterpret_cast<void*>(addr), size, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  int result = 0;
  if (p == MAP_FAILED) {
    result = errno;
  } else if (p != reinterpret_cast<void*>(addr)) {
    munmap(p, size);
    result = EEXIST;
  }
  errno = saved;
  return result;
}

uintptr_t map(size_t size, size_t align) {
  return map_aligned(size, align, PROT_READ | PROT_WRITE, 0);
}

bool commit(uintptr_t addr, size_t size) {
  return mprotect(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE) == 0;
}

void disclaim(uintptr_t addr, size_t size) {
  int saved = errno;
  madvise(reinterpret_cast<void*>(addr), size, MADV_DONTNEED);
  errno = saved;
}

void release(uintptr_t addr, size_t size) {
  int saved = errno;
  munmap(reinterpret_cast<void*>(addr), size);
  errno = saved;
}

bool remap_in_place(uintptr_t addr, size_t old_size, size_t new_size) {
  int saved = errno;
  bool ok = mremap(reinterpret_cast<void*>(addr), old_size, new_size, 0) != MAP_FAILED;
  errno = saved;
  return ok;
}

bool remap_to(uintptr_t addr, size_t old_size, size_t new_size, uintptr_t target) {
  int saved = errno;
  bool ok = mremap(reinterpret_cast<void*>(addr), old_size, new_size,
                   MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(target)) != MAP_FAILED;
  errno = saved;
  return ok;
}

size_t address_space_limit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<size_t>(rl.rlim_cur);
}

bool is_secure() { return getauxval(AT_SECURE) != 0; }

void write_all(int fd, const char* buf, size_t len) {
  int saved = errno;
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
  errno = saved;
}

int thread_id() { return static_cast<int>(syscall(SYS_gettid)); }

uint64_t random_bits() {
  int saved = errno;
  uint64_t r = 0;
  if (syscall(SYS_getrandom, &r, sizeof r, GRND_NONBLOCK) != static_cast<long>(sizeof r)) {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (static_cast<uint64_t>(ts.tv_nsec) << 20) ^ static_cast<uint64_t>(ts.tv_sec) ^
        reinterpret_cast<uintptr_t>(&ts) ^ (static_cast<uint64_t>(getpid()) << 40);
    r *= 0x9e3779b97f4a7c15ull;
  }
  errno = saved;
  return r;
}

}  // namespace os
}  // namespace aixmalloc
