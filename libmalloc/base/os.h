// The whole operating-system interface of aixmalloc: every system call the allocator makes goes
// through one of these small functions (memory, futex, clock, process and thread ids, files,
// signals). None of them allocates or takes a lock, so they are safe under any allocator lock,
// during start-up and in a signal handler; none of them changes errno (free() keeps errno, and a
// signal handler must not disturb the thread it interrupts). tests/unit/layers_test.cpp checks that
// no other file calls the system directly.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <pthread.h>
#include <signal.h>

namespace aixmalloc::os {

// --- memory --------------------------------------------------------------------------------------
// Reserves `size` bytes of address space (PROT_NONE, MAP_NORESERVE) aligned to `align` (a power of
// two, at least the page size). Returns 0 when the kernel refuses (RLIMIT_AS, exhaustion).
uintptr_t reserve(size_t size, size_t align);
// Reserves exactly [addr, addr+size) (PROT_NONE, MAP_NORESERVE) if none of it is mapped. Returns 0,
// or EEXIST when any of it is mapped (or the kernel would only map it elsewhere), ENOMEM when the
// kernel refuses (RLIMIT_AS), another errno value for an address it does not allow. Never replaces
// a mapping.
int reserve_at(uintptr_t addr, size_t size);
// Maps `size` bytes read-write, aligned to `align`: the storage of a block with its own range.
uintptr_t map(size_t size, size_t align);
// Makes [addr, addr+size) of a reserved range readable and writable, like moving the break up.
bool commit(uintptr_t addr, size_t size);
// Drops the pages' contents (they read back as zeros) and their physical memory; the range stays
// mapped and usable. This is AIX's disclaim(ZERO_MEM) on Linux: madvise(MADV_DONTNEED).
void disclaim(uintptr_t addr, size_t size);
// Bytes of [addr, addr+size) (page-aligned, mapped) that are resident (mincore); 0 when the kernel
// refuses. For statistics: a page counts once it was touched (written, or read from a private
// anonymous mapping) until disclaim() drops it.
uint64_t resident_bytes(uintptr_t addr, size_t size);
// mincore() of [addr, addr+size) into vec (a byte per page, bit 0: resident); false when refused.
bool resident_vector(uintptr_t addr, size_t size, unsigned char* vec);
// Faults in every page of [addr, addr+size) for writing in one call (madvise(MADV_POPULATE_WRITE),
// Linux 5.14), instead of one page fault per page at first touch; pages already there are left as
// they are. False when the kernel refuses (older kernels: EINVAL).
bool populate(uintptr_t addr, size_t size);
// Gives a range back to the kernel.
void release(uintptr_t addr, size_t size);
// Resizes a mapping made by map() in place. False when the pages above are taken.
bool remap_in_place(uintptr_t addr, size_t old_size, size_t new_size);
// Moves a mapping's pages (no copy) onto `target`, a range from reserve() of new_size bytes.
bool remap_to(uintptr_t addr, size_t old_size, size_t new_size, uintptr_t target);
// Guard pages (catch_overflow). Linux 6.13's madvise(MADV_GUARD_INSTALL) marks pages of a
// read-write mapping as inaccessible in the page tables, dropping their contents, without
// splitting the mapping; MADV_GUARD_REMOVE makes them usable again (zero-filled). False when the
// kernel refuses (older kernels: EINVAL).
bool guard_install(uintptr_t addr, size_t size);
bool guard_remove(uintptr_t addr, size_t size);
// mprotect: the fallback for guard pages where the kernel has no MADV_GUARD_INSTALL. Each change
// of protection inside a mapping splits it, and the kernel refuses more than vm.max_map_count
// mappings per process: false then (ENOMEM).
enum class Access : uint8_t { kNone, kRead, kReadWrite };
bool protect(uintptr_t addr, size_t size, Access access);
// vm.max_map_count, or 65530 (the kernel's default) when it cannot be read.
size_t max_map_count();
// The soft RLIMIT_AS, or SIZE_MAX when unlimited.
size_t address_space_limit();

// --- waiting -------------------------------------------------------------------------------------
// Sleeps while *word == expected (a private futex); may return early, spuriously or on a signal.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected);
// Wakes one thread sleeping in futex_wait on `word`.
void futex_wake_one(std::atomic<uint32_t>* word);
// Lets another thread run (sched_yield).
void yield();

// --- clock, process, thread ----------------------------------------------------------------------
// Nanoseconds on the coarse monotonic clock (read from the vDSO: no system call, a few ns; its
// resolution is a few milliseconds, plenty for the allocator's one-second timers).
uint64_t now_ns();
// Thread id (gettid), for the reports and per-thread file names.
int thread_id();
// The calling thread's identity without a system call (its thread control block, pthread_self):
// unique among the live threads, the same in a forked child's thread. For the start-up re-entry
// check and lock ownership, which a short process paid two system calls for.
inline uintptr_t thread_self() { return reinterpret_cast<uintptr_t>(pthread_self()); }
int process_id();
int parent_process_id();
// Nanoseconds since the epoch (CLOCK_REALTIME, from the vDSO): the time stamps of reports.
uint64_t realtime_ns();
// The running program's path (/proc/self/exe), NUL-terminated in out; "" when it cannot be read.
void program_path(char* out, size_t n);
// True when the process runs with elevated privileges (AT_SECURE): no files are written for it.
bool is_secure();

// --- files ---------------------------------------------------------------------------------------
// Opens `path` for writing, never through a symbolic link (O_NOFOLLOW) and closed on exec. With
// `exclusive` the file must not exist yet (O_EXCL); otherwise it is created or truncated. Returns
// the descriptor, or -1 with the errno value in *error when `error` is given.
int open_for_writing(const char* path, bool exclusive, unsigned mode, int* error = nullptr);
// The same without truncating, then an exclusive flock(2) taken without waiting: the descriptor
// when this open file now holds the lock (the file is then emptied), -1 with *error EWOULDBLOCK
// when another open file holds it, -1 with another errno value when the path cannot be opened.
// A file system without flock counts as a lock taken.
int open_locked_for_writing(const char* path, unsigned mode, int* error);
void close_file(int fd);
// What a descriptor refers to: the device and inode of its file. False when fd is not open.
struct FileId {
  uint64_t dev = 0, ino = 0;
  bool operator==(const FileId& o) const { return dev == o.dev && ino == o.ino; }
};
bool file_id(int fd, FileId* id);
// A duplicate of fd closed on exec, at the lowest free number from `at` (or lower when the
// process's descriptor limit is below it); -1 when none can be made.
int duplicate_high(int fd, int at);
// rename(2): true when `to` now names the file.
bool rename_file(const char* from, const char* to);
void remove_file(const char* path);
// True when `path` is a directory this process may create files in.
bool is_writable_directory(const char* path);
// Writes all of buf to fd, retrying on EINTR and short writes.
void write_all(int fd, const char* buf, size_t len);

// --- descriptors (the live channel's advert) -----------------------------------------------------
struct FileIdentity {
  uint64_t dev = 0, ino = 0;
  bool operator==(const FileIdentity&) const = default;
};
// A new, empty anonymous file named `name` (memfd_create: close-on-exec, sealed against execution
// where the kernel can), at the lowest free descriptor at or above `floor`. -1 when refused.
int create_named_file(const char* name, int floor);
// The file `fd` is open on; {0, 0} when it is not open.
FileIdentity identity_of(int fd);
// Makes `to` name `from`'s file (dup3, close-on-exec) and closes `from`; false (both left as they
// were) when refused.
bool move_descriptor(int from, int to);
// The soft RLIMIT_NOFILE (descriptors a process may open), at most `cap`.
int descriptor_limit(int cap);

// --- signals -------------------------------------------------------------------------------------
// Installs `handler` for `sig` (SA_RESTART, nothing masked). False when the kernel refuses.
bool catch_signal(int sig, void (*handler)(int));
// The same with SA_SIGINFO, so the handler sees the value a sender gave sigqueue(3).
bool catch_signal_info(int sig, void (*handler)(int, siginfo_t*, void*));

// Signal actions as sigaction(2) takes them, through libc's __sigaction, which the library's own
// exported sigaction() (catch_overflow's interposition) does not shadow. 0 or -1 with errno.
int set_signal_action(int sig, const struct ::sigaction* act, struct ::sigaction* old);
// Installs `handler` (SA_SIGINFO, SA_ONSTACK, SA_NODEFER) for `sig`, the previous action into *old.
bool catch_fault_signal(int sig, void (*handler)(int, siginfo_t*, void*), struct ::sigaction* old);
// raise(3): the signal to this thread.
void raise_signal(int sig);
// Whether the calling thread blocks `sig`; with `change`, blocks it (`block`) or unblocks it, and
// still returns whether it was blocked before.
bool signal_blocked(int sig, bool change = false, bool block = false);
// True when the fault described by a SA_SIGINFO handler's context was a write (x86-64: the page
// fault error code); false for a read or when the machine does not say.
bool fault_was_write(const void* ucontext);

// --- the address-space layout --------------------------------------------------------------------
struct Range {
  uintptr_t start = 0, end = 0;
};
// The room the kernel's layout leaves above its mmap area: from the end of the dynamic loader's
// mapping (the first one the kernel placed there, at the area's top) up to the reach of the main
// thread's stack (its RLIMIT_STACK, at least 128 MiB) less `margin`. The kernel hands out
// addresses below that top by itself and the stack grows down to its limit, so what lies between
// stays free unless the program maps there on purpose. An empty range when the layout is not the
// top-down one (RLIMIT_STACK unlimited, or the loader low in the address space) or the program
// has no loader.
Range room_above_mmap_area(size_t margin);

// --- randomness ----------------------------------------------------------------------------------
// 64 unpredictable bits (getrandom; when the kernel has none yet, the clock and this process's
// address-space layout), for placing ranges at random.
uint64_t random_bits();

}  // namespace aixmalloc::os
