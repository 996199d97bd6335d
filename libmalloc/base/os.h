// The whole operating-system interface of aixmalloc: reserve, commit, disclaim and release address
// ranges. Each function is one or two system calls; none of them allocates or takes a lock, so
// they are safe under any allocator lock and during start-up.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc::os {

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
// Gives a range back to the kernel.
void release(uintptr_t addr, size_t size);
// Resizes a mapping made by map() in place. False when the pages above are taken.
bool remap_in_place(uintptr_t addr, size_t old_size, size_t new_size);
// Moves a mapping's pages (no copy) onto `target`, a range from reserve() of new_size bytes.
bool remap_to(uintptr_t addr, size_t old_size, size_t new_size, uintptr_t target);
// The soft RLIMIT_AS, or SIZE_MAX when unlimited.
size_t address_space_limit();
// True when the process runs with elevated privileges (AT_SECURE): no files are written for it.
bool is_secure();
// Writes all of buf to fd, retrying on EINTR and short writes.
void write_all(int fd, const char* buf, size_t len);
// Thread id (gettid), for lock ownership and the start-up re-entry check.
int thread_id();
// 64 unpredictable bits (getrandom; when the kernel has none yet, the clock and this process's
// address-space layout), for placing ranges at random.
uint64_t random_bits();

}  // namespace aixmalloc::os
