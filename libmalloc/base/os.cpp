// Linux implementation of os.h. The only file of aixmalloc that calls the system directly: the
// system calls themselves (sys() below) and, for what needs libc's part, its functions that never
// allocate (clock_gettime from the vDSO, getauxval, sigaction with its restorer, pthread_sigmask).
#include "libmalloc/base/os.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libmalloc/base/platform.h"

extern "C" void* __libc_stack_end;  // the dynamic loader's: the main thread's stack at start-up

namespace aixmalloc {

size_t page_size() {
  // Threads may ask first at the same time: both store the same value, atomically.
  static constinit std::atomic<size_t> cached{0};
  size_t v = cached.load(std::memory_order_relaxed);
  if (v == 0) {
    // The kernel's own word, in the auxiliary vector: sysconf would say the same, but its switch
    // table maps a window of libc's read-only data that few programs touch otherwise (64 KiB of
    // the process's resident size, by the kernel's fault-around).
    v = static_cast<size_t>(getauxval(AT_PAGESZ));
    if (v == 0) v = 4096;  // Linux always passes it
    cached.store(v, std::memory_order_relaxed);
  }
  return v;
}

namespace os {
namespace {

// A system call made directly, not through libc's wrapper, with the kernel's result: a value, or
// -errno; errno is left alone. Each wrapper the library named was a symbol the loader looked up in
// every process as it started (28 of the library's 81) and, when the program itself did not use
// it, a page of libc's symbol tables or code mapped for it. Sanitizer builds go through libc, whose
// mmap, munmap and mremap they intercept to keep their shadow memory right, and so do builds for
// other machines than x86-64 (the system call instruction is written here for x86-64 only).
#if defined(AIXMALLOC_TSAN) || defined(__SANITIZE_ADDRESS__)
#define AIXMALLOC_LIBC_SYSCALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIXMALLOC_LIBC_SYSCALLS 1
#endif
#endif

#if defined(AIXMALLOC_LIBC_SYSCALLS) || !defined(__x86_64__)
long sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  int saved = errno;
  long r;
  switch (nr) {  // the calls a sanitizer follows
    case SYS_mmap:
      r = reinterpret_cast<long>(mmap(reinterpret_cast<void*>(a), static_cast<size_t>(b),
                                      static_cast<int>(c), static_cast<int>(d),
                                      static_cast<int>(e), f));
      break;
    case SYS_munmap: r = munmap(reinterpret_cast<void*>(a), static_cast<size_t>(b)); break;
    case SYS_mremap:
      r = reinterpret_cast<long>(mremap(reinterpret_cast<void*>(a), static_cast<size_t>(b),
                                        static_cast<size_t>(c), static_cast<int>(d),
                                        reinterpret_cast<void*>(e)));
      break;
    default: r = syscall(nr, a, b, c, d, e, f);
  }
  if (r == -1) r = -errno;
  errno = saved;
  return r;
}
#else
long sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long r;
  asm volatile("syscall"
               : "=a"(r)
               : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return r;
}
#endif

template <class T>
long arg(T* p) {
  return reinterpret_cast<long>(p);
}
long arg(unsigned long v) { return static_cast<long>(v); }  // an address or a size

bool failed(long r) { return r < 0 && r > -4096; }

// Restores errno when it goes out of scope: the system calls below may set it, their callers never
// see it change.
class KeepErrno {
 public:
  KeepErrno() : saved_(errno) {}
  ~KeepErrno() { errno = saved_; }
  KeepErrno(const KeepErrno&) = delete;
  KeepErrno& operator=(const KeepErrno&) = delete;

 private:
  int saved_;
};

// mmap with an over-sized request, then trims the ends so the result is `align`-aligned.
uintptr_t map_aligned(size_t size, size_t align, int prot, int flags) {
  if (align < page_size()) align = page_size();
  size_t padded = size + align - page_size();
  if (padded < size) return 0;
  long raw = sys(SYS_mmap, 0, arg(padded), prot, flags | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (failed(raw)) return 0;
  uintptr_t start = static_cast<uintptr_t>(raw);
  uintptr_t aligned = align_up(start, align);
  if (aligned > start) sys(SYS_munmap, raw, arg(aligned - start));
  uintptr_t end = start + padded;
  if (end > aligned + size) sys(SYS_munmap, arg(aligned + size), arg(end - aligned - size));
  return aligned;
}

void futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  sys(SYS_futex, arg(word), op | FUTEX_PRIVATE_FLAG, value);
}

long prlimit(int resource, struct rlimit* rl) {
  return sys(SYS_prlimit64, 0, resource, 0, arg(rl));
}

long stat_at(int dir, const char* path, struct stat* st, int flags) {
  return sys(SYS_newfstatat, dir, arg(path), arg(st), flags);
}

long close_raw(int fd) { return sys(SYS_close, fd); }

}  // namespace

// --- memory --------------------------------------------------------------------------------------

uintptr_t reserve(size_t size, size_t align) {
  return map_aligned(size, align, PROT_NONE, MAP_NORESERVE);
}

int reserve_at(uintptr_t addr, size_t size) {
  // MAP_FIXED_NOREPLACE fails rather than replace a mapping. A kernel older than 4.17, or a
  // tool such as valgrind, may take it as a mere hint and map elsewhere: that counts as taken.
  long p = sys(SYS_mmap, arg(addr), arg(size), PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (failed(p)) return static_cast<int>(-p);
  if (static_cast<uintptr_t>(p) != addr) {
    sys(SYS_munmap, p, arg(size));
    return EEXIST;
  }
  return 0;
}

uintptr_t map(size_t size, size_t align) {
  return map_aligned(size, align, PROT_READ | PROT_WRITE, 0);
}

bool commit(uintptr_t addr, size_t size) {
  return sys(SYS_mprotect, arg(addr), arg(size), PROT_READ | PROT_WRITE) == 0;
}

void disclaim(uintptr_t addr, size_t size) {
  sys(SYS_madvise, arg(addr), arg(size), MADV_DONTNEED);
}

uint64_t resident_bytes(uintptr_t addr, size_t size) {
  const size_t page = page_size();
  unsigned char vec[256];
  uint64_t resident = 0;
  for (size_t done = 0; done < size;) {
    size_t chunk = size - done < sizeof(vec) * page ? size - done : sizeof(vec) * page;
    if (!resident_vector(addr + done, chunk, vec)) return 0;
    for (size_t i = 0; i < (chunk + page - 1) / page; ++i) resident += (vec[i] & 1) ? page : 0;
    done += chunk;
  }
  return resident;
}

bool resident_vector(uintptr_t addr, size_t size, unsigned char* vec) {
  return sys(SYS_mincore, arg(addr), arg(size), arg(vec)) == 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool populate(uintptr_t addr, size_t size) {
  return sys(SYS_madvise, arg(addr), arg(size), MADV_POPULATE_WRITE) == 0;
}

void release(uintptr_t addr, size_t size) {
  sys(SYS_munmap, arg(addr), arg(size));
}

bool remap_in_place(uintptr_t addr, size_t old_size, size_t new_size) {
  return !failed(sys(SYS_mremap, arg(addr), arg(old_size), arg(new_size), 0));
}

bool remap_to(uintptr_t addr, size_t old_size, size_t new_size, uintptr_t target) {
  return !failed(sys(SYS_mremap, arg(addr), arg(old_size), arg(new_size),
                     MREMAP_MAYMOVE | MREMAP_FIXED, arg(target)));
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

bool guard_install(uintptr_t addr, size_t size) {
  return sys(SYS_madvise, arg(addr), arg(size), MADV_GUARD_INSTALL) == 0;
}

bool guard_remove(uintptr_t addr, size_t size) {
  return sys(SYS_madvise, arg(addr), arg(size), MADV_GUARD_REMOVE) == 0;
}

bool protect(uintptr_t addr, size_t size, Access access) {
  int prot = access == Access::kNone ? PROT_NONE : access == Access::kRead ? PROT_READ : PROT_READ | PROT_WRITE;
  return sys(SYS_mprotect, arg(addr), arg(size), prot) == 0;
}

size_t max_map_count() {
  long fd = sys(SYS_openat, AT_FDCWD, arg("/proc/sys/vm/max_map_count"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 65530;
  char buf[32];
  long n = sys(SYS_read, fd, arg(buf), sizeof buf - 1);
  close_raw(static_cast<int>(fd));
  size_t v = 0;
  for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) v = v * 10 + static_cast<size_t>(buf[i] - '0');
  return v ? v : 65530;
}

size_t address_space_limit() {
  struct rlimit rl;
  if (prlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<size_t>(rl.rlim_cur);
}

// --- waiting -------------------------------------------------------------------------------------

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  futex(word, FUTEX_WAIT, expected);
}

void futex_wake_one(std::atomic<uint32_t>* word) { futex(word, FUTEX_WAKE, 1); }

void yield() { sys(SYS_sched_yield); }

// --- clock, process, thread ----------------------------------------------------------------------

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

int thread_id() { return static_cast<int>(sys(SYS_gettid)); }

int process_id() { return static_cast<int>(sys(SYS_getpid)); }

int parent_process_id() { return static_cast<int>(sys(SYS_getppid)); }

uint64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

void program_path(char* out, size_t n) {
  if (n == 0) return;
  long got = sys(SYS_readlinkat, AT_FDCWD, arg("/proc/self/exe"), arg(out), arg(n - 1));
  out[got > 0 ? static_cast<size_t>(got) : 0] = '\0';
}

bool is_secure() {
  KeepErrno keep;  // getauxval sets ENOENT for a type the kernel did not pass
  return getauxval(AT_SECURE) != 0;
}

// --- files ---------------------------------------------------------------------------------------

int open_for_writing(const char* path, bool exclusive, unsigned mode, int* error) {
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  long fd = sys(SYS_openat, AT_FDCWD, arg(path), flags, mode);
  if (fd < 0) {
    if (error) *error = static_cast<int>(-fd);
    return -1;
  }
  return static_cast<int>(fd);
}

int open_locked_for_writing(const char* path, unsigned mode, int* error) {
  long fd = sys(SYS_openat, AT_FDCWD, arg(path), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = static_cast<int>(-fd);
    return -1;
  }
  long r;
  while ((r = sys(SYS_flock, fd, LOCK_EX | LOCK_NB)) == -EINTR) {
  }
  if (r == -EWOULDBLOCK) {
    close_raw(static_cast<int>(fd));
    *error = EWOULDBLOCK;
    return -1;
  }
  if (sys(SYS_ftruncate, fd, 0) != 0) {
    // A file that cannot be emptied (a device, a FIFO) is written as it is.
  }
  return static_cast<int>(fd);
}

// fstat(fd) with an empty path of our own: libc's fstat passes the kernel one of libc's read-only
// data, and the kernel's read of it maps a window of that data that few programs touch otherwise
// (64 KiB of the process's resident size, by the kernel's fault-around).
namespace {
long stat_descriptor(int fd, struct stat* st) { return stat_at(fd, "", st, AT_EMPTY_PATH); }
}  // namespace

bool file_id(int fd, FileId* id) {
  struct stat st;
  if (fd < 0 || stat_descriptor(fd, &st) != 0) return false;
  id->dev = static_cast<uint64_t>(st.st_dev);
  id->ino = static_cast<uint64_t>(st.st_ino);
  return true;
}

int duplicate_high(int fd, int at) {
  struct rlimit rl;
  if (prlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(at) >= rl.rlim_cur)
    at = rl.rlim_cur > 16 ? static_cast<int>(rl.rlim_cur / 2) : 3;
  long r = sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, at);
  return r < 0 ? -1 : static_cast<int>(r);
}

void close_file(int fd) { close_raw(fd); }

bool rename_file(const char* from, const char* to) {
  return sys(SYS_renameat, AT_FDCWD, arg(from), AT_FDCWD, arg(to)) == 0;
}

void remove_file(const char* path) {
  sys(SYS_unlinkat, AT_FDCWD, arg(path), 0);
}

bool is_writable_directory(const char* path) {
  struct stat st;
  return stat_at(AT_FDCWD, path, &st, 0) == 0 && S_ISDIR(st.st_mode) &&
         sys(SYS_faccessat, AT_FDCWD, arg(path), W_OK | X_OK) == 0;
}

void write_all(int fd, const char* buf, size_t len) {
  while (len > 0) {
    long n = sys(SYS_write, fd, arg(buf), arg(len));
    if (n < 0) {
      if (n == -EINTR) continue;
      break;
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
}

// --- descriptors ---------------------------------------------------------------------------------

int create_named_file(const char* name, int floor) {
  // Linux 6.3 logs a warning for a memfd that says nothing about execution; older kernels refuse
  // the flag (EINVAL).
  constexpr unsigned kNoExecSeal = 0x0008U;  // MFD_NOEXEC_SEAL
  long fd = sys(SYS_memfd_create, arg(name), MFD_CLOEXEC | kNoExecSeal);
  if (fd == -EINVAL) fd = sys(SYS_memfd_create, arg(name), MFD_CLOEXEC);
  if (fd < 0) return -1;
  long high = sys(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
  close_raw(static_cast<int>(fd));
  return high < 0 ? -1 : static_cast<int>(high);
}

FileIdentity identity_of(int fd) {
  struct stat st;
  if (fd < 0 || stat_descriptor(fd, &st) != 0) return {};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool move_descriptor(int from, int to) {
  if (sys(SYS_dup3, from, to, O_CLOEXEC) < 0) return false;
  close_raw(from);
  return true;
}

int descriptor_limit(int cap) {
  struct rlimit rl;
  if (prlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= static_cast<rlim_t>(cap)) return cap;
  return static_cast<int>(rl.rlim_cur);
}

// --- signals -------------------------------------------------------------------------------------

extern "C" int __sigaction(int, const struct sigaction*, struct sigaction*);

// Through libc's __sigaction, never the library's exported sigaction(): aixmalloc's own handlers
// are not the program's (libmalloc/live_channel.cpp keeps the program's view of its signal).
bool catch_signal(int sig, void (*handler)(int)) {
  KeepErrno keep;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return __sigaction(sig, &sa, nullptr) == 0;
}

bool catch_signal_info(int sig, void (*handler)(int, siginfo_t*, void*)) {
  KeepErrno keep;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  return __sigaction(sig, &sa, nullptr) == 0;
}

int set_signal_action(int sig, const struct sigaction* act, struct sigaction* old) {
  return __sigaction(sig, act, old);
}

bool catch_fault_signal(int sig, void (*handler)(int, siginfo_t*, void*), struct sigaction* old) {
  KeepErrno keep;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  return __sigaction(sig, &sa, old) == 0;
}

void raise_signal(int sig) { sys(SYS_tgkill, sys(SYS_getpid), sys(SYS_gettid), sig); }

bool signal_blocked(int sig, bool change, bool block) {
  KeepErrno keep;
  sigset_t one, before;
  sigemptyset(&one);
  sigaddset(&one, sig);
  if (pthread_sigmask(change ? (block ? SIG_BLOCK : SIG_UNBLOCK) : SIG_BLOCK,
                      change ? &one : nullptr, &before) != 0)
    return false;
  return sigismember(&before, sig) == 1;
}

bool fault_was_write(const void* ucontext) {
#if defined(__x86_64__)
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
  (void)ucontext;
  return false;
#endif
}

Range room_above_mmap_area(size_t margin) {
  KeepErrno keep;
  uintptr_t loader = getauxval(AT_BASE);
  struct rlimit rl;
  if (loader == 0 || prlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return {};
  // The loader's own ELF header and program headers, mapped with its first segment.
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(loader);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_phentsize != sizeof(Elf64_Phdr)) return {};
  const auto* ph = reinterpret_cast<const Elf64_Phdr*>(loader + eh->e_phoff);
  uintptr_t top = 0;
  for (unsigned i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD && loader + ph[i].p_vaddr + ph[i].p_memsz > top) top = loader + ph[i].p_vaddr + ph[i].p_memsz;
  top = align_up(top, page_size());  // its last page mapped whole
  size_t reach = rl.rlim_cur > (size_t{128} << 20) ? rl.rlim_cur : size_t{128} << 20;
  auto stack = reinterpret_cast<uintptr_t>(__libc_stack_end);
  // Top-down, the loader sits below the stack by the stack's reach and a random gap of at most
  // about 1 TiB; bottom-up (the legacy layout), far lower.
  if (top == 0 || stack < top || stack - top < reach + margin || stack - top > (size_t{4} << 40)) return {};
  return {top, stack - reach - margin};
}

uint64_t random_bits() {
  uint64_t r = 0;
  if (sys(SYS_getrandom, arg(&r), sizeof r, GRND_NONBLOCK) != static_cast<long>(sizeof r)) {
    KeepErrno keep;
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (static_cast<uint64_t>(ts.tv_nsec) << 20) ^ static_cast<uint64_t>(ts.tv_sec) ^
        reinterpret_cast<uintptr_t>(&ts) ^ (static_cast<uint64_t>(sys(SYS_getpid)) << 40);
    r *= 0x9e3779b97f4a7c15ull;
  }
  return r;
}

}  // namespace os
}  // namespace aixmalloc
