// Linux implementation of os.h, on system calls wrapped by libc (mmap, mprotect, madvise, mremap,
// futex, clock_gettime, open, rename, unlink, sigaction, write, ...): none of these wrappers
// allocates. The only file of aixmalloc that calls the system directly.
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
    if (v == 0) v = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    cached.store(v, std::memory_order_relaxed);
  }
  return v;
}

namespace os {
namespace {

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
  KeepErrno keep;
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

void futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  KeepErrno keep;
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value, nullptr,
          nullptr, 0);
}

}  // namespace

// --- memory --------------------------------------------------------------------------------------

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
  KeepErrno keep;
  return mprotect(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE) == 0;
}

void disclaim(uintptr_t addr, size_t size) {
  KeepErrno keep;
  madvise(reinterpret_cast<void*>(addr), size, MADV_DONTNEED);
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
  KeepErrno keep;
  return mincore(reinterpret_cast<void*>(addr), size, vec) == 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

bool populate(uintptr_t addr, size_t size) {
  KeepErrno keep;
  return madvise(reinterpret_cast<void*>(addr), size, MADV_POPULATE_WRITE) == 0;
}

void release(uintptr_t addr, size_t size) {
  KeepErrno keep;
  munmap(reinterpret_cast<void*>(addr), size);
}

bool remap_in_place(uintptr_t addr, size_t old_size, size_t new_size) {
  KeepErrno keep;
  return mremap(reinterpret_cast<void*>(addr), old_size, new_size, 0) != MAP_FAILED;
}

bool remap_to(uintptr_t addr, size_t old_size, size_t new_size, uintptr_t target) {
  KeepErrno keep;
  return mremap(reinterpret_cast<void*>(addr), old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED,
                reinterpret_cast<void*>(target)) != MAP_FAILED;
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif

bool guard_install(uintptr_t addr, size_t size) {
  KeepErrno keep;
  return madvise(reinterpret_cast<void*>(addr), size, MADV_GUARD_INSTALL) == 0;
}

bool guard_remove(uintptr_t addr, size_t size) {
  KeepErrno keep;
  return madvise(reinterpret_cast<void*>(addr), size, MADV_GUARD_REMOVE) == 0;
}

bool protect(uintptr_t addr, size_t size, Access access) {
  KeepErrno keep;
  int prot = access == Access::kNone ? PROT_NONE : access == Access::kRead ? PROT_READ : PROT_READ | PROT_WRITE;
  return mprotect(reinterpret_cast<void*>(addr), size, prot) == 0;
}

size_t max_map_count() {
  KeepErrno keep;
  int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 65530;
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  size_t v = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) v = v * 10 + static_cast<size_t>(buf[i] - '0');
  return v ? v : 65530;
}

size_t address_space_limit() {
  KeepErrno keep;
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  return static_cast<size_t>(rl.rlim_cur);
}

// --- waiting -------------------------------------------------------------------------------------

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
  futex(word, FUTEX_WAIT, expected);
}

void futex_wake_one(std::atomic<uint32_t>* word) { futex(word, FUTEX_WAKE, 1); }

void yield() { sched_yield(); }

// --- clock, process, thread ----------------------------------------------------------------------

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

int thread_id() { return static_cast<int>(syscall(SYS_gettid)); }

int process_id() { return static_cast<int>(getpid()); }

int parent_process_id() { return static_cast<int>(getppid()); }

uint64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

void program_path(char* out, size_t n) {
  KeepErrno keep;
  if (n == 0) return;
  ssize_t got = readlink("/proc/self/exe", out, n - 1);
  out[got > 0 ? static_cast<size_t>(got) : 0] = '\0';
}

bool is_secure() {
  KeepErrno keep;  // getauxval sets ENOENT for a type the kernel did not pass
  return getauxval(AT_SECURE) != 0;
}

// --- files ---------------------------------------------------------------------------------------

int open_for_writing(const char* path, bool exclusive, unsigned mode, int* error) {
  KeepErrno keep;
  int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = open(path, flags, static_cast<mode_t>(mode));
  if (fd < 0 && error) *error = errno;
  return fd;
}

int open_locked_for_writing(const char* path, unsigned mode, int* error) {
  KeepErrno keep;
  int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  int r;
  while ((r = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (r != 0 && errno == EWOULDBLOCK) {
    close(fd);
    *error = EWOULDBLOCK;
    return -1;
  }
  if (ftruncate(fd, 0) != 0) {
    // A file that cannot be emptied (a device, a FIFO) is written as it is.
  }
  return fd;
}

// fstat(fd) without libc's fstat, which passes the kernel an empty path of libc's read-only data:
// the kernel's read of it maps a window of that data that few programs touch otherwise (64 KiB of
// the process's resident size, by the kernel's fault-around). This empty path is ours.
namespace {
int stat_descriptor(int fd, struct stat* st) { return fstatat(fd, "", st, AT_EMPTY_PATH); }
}  // namespace

bool file_id(int fd, FileId* id) {
  KeepErrno keep;
  struct stat st;
  if (fd < 0 || stat_descriptor(fd, &st) != 0) return false;
  id->dev = static_cast<uint64_t>(st.st_dev);
  id->ino = static_cast<uint64_t>(st.st_ino);
  return true;
}

int duplicate_high(int fd, int at) {
  KeepErrno keep;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(at) >= rl.rlim_cur)
    at = rl.rlim_cur > 16 ? static_cast<int>(rl.rlim_cur / 2) : 3;
  return fcntl(fd, F_DUPFD_CLOEXEC, at);
}

void close_file(int fd) {
  KeepErrno keep;
  close(fd);
}

bool rename_file(const char* from, const char* to) {
  KeepErrno keep;
  return rename(from, to) == 0;
}

void remove_file(const char* path) {
  KeepErrno keep;
  unlink(path);
}

bool is_writable_directory(const char* path) {
  KeepErrno keep;
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode) && access(path, W_OK | X_OK) == 0;
}

void write_all(int fd, const char* buf, size_t len) {
  KeepErrno keep;
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
}

// --- descriptors ---------------------------------------------------------------------------------

int create_named_file(const char* name, int floor) {
  KeepErrno keep;
  // Linux 6.3 logs a warning for a memfd that says nothing about execution; older kernels refuse
  // the flag (EINVAL).
  constexpr unsigned kNoExecSeal = 0x0008U;  // MFD_NOEXEC_SEAL
  int fd = memfd_create(name, MFD_CLOEXEC | kNoExecSeal);
  if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -1;
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  close(fd);
  return high;
}

FileIdentity identity_of(int fd) {
  KeepErrno keep;
  struct stat st;
  if (fd < 0 || stat_descriptor(fd, &st) != 0) return {};
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

bool move_descriptor(int from, int to) {
  KeepErrno keep;
  if (dup3(from, to, O_CLOEXEC) < 0) return false;
  close(from);
  return true;
}

int descriptor_limit(int cap) {
  KeepErrno keep;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= static_cast<rlim_t>(cap)) return cap;
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

void raise_signal(int sig) {
  KeepErrno keep;
  raise(sig);
}

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
  if (loader == 0 || getrlimit(RLIMIT_STACK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return {};
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
