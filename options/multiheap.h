// MALLOCOPTIONS=multiheap[:n] and considersize: AIX serves a threaded program's requests from up
// to 32 heaps, each with its own lock, instead of one; considersize makes it prefer a heap that has
// a free block large enough. This file holds the choice of a heap (HeapSelector) and the layer at
// the bottom of every stack (MultiheapLayer): the heaps themselves, each a lock, its memory, its
// policy wrapped in its per-heap layers, and its counters. With multiheap off there is one heap.
//
// Until the process has a second thread every request goes to heap 0, so a single-threaded program
// behaves as with one heap. After that each thread has a heap of its own to start from, given when
// it first allocates: the lowest-numbered heap that the fewest live threads start from, so threads
// spread over the heaps while they run, and a thread that replaces an exited one takes over its
// heap and the free memory in it (handed out round robin, heaps all grew in a program that keeps
// replacing its threads). It keeps to that heap: it waits a few hundred cycles for it if it is busy
// (heap critical sections are that short), and otherwise takes, for that request only, the
// lowest-numbered heap whose lock it gets without waiting (so no more heaps grow than threads run
// at once); if all n are busy it waits for its own. (A thread that moved for good to the heap it
// used last left the memory of its own heap to the threads that free into it: 2 to 5 times the
// live bytes with threads that free each other's blocks.) Batches for the thread cache always wait for
// the thread's heap (acquire_own): a batch is worth the wait, and moving on would grow another heap
// each time a consumer thread flushes into this one (measured: 54 MiB instead of 11 for one
// producer/consumer pair over 32 heaps). With considersize it prefers, among the heaps it can lock,
// one whose largest free block fits the request, so memory is reused instead of growing another
// heap (and pays for looking). Without it, a request of more than 512 bytes that the thread's heap
// could only serve by growing is served by another heap that has room, if one is free at once.
//
// DESIGN.md says "starting after the last one it used"; starting *at* it keeps an uncontended thread
// on one heap, whose blocks are warm in its cache, and still spreads threads when they collide.
#pragma once

#include <sys/single_threaded.h>

#include <atomic>
#include <cstring>
#include <new>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/block.h"
#include "libmalloc/base/config.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/fresh.h"
#include "libmalloc/base/heap_memory.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/reclaim.h"
#include "libmalloc/base/statistics.h"
#include "libmalloc/base/thread_exit.h"
#include "policies/policy.h"

namespace aixmalloc {

template <class HeapT>
class HeapSelector {
 public:
  void configure(HeapT* heaps, unsigned count, bool considersize) {
    heaps_ = heaps;
    count_ = count;
    considersize_ = considersize;
    // The count of live threads per heap needs each thread's exit (without it, heaps are handed out
    // by that count all the same, only never given back).
    if (count > 1 && !s_hook_added) s_hook_added = thread_exit::add_hook(on_thread_exit);
  }
  unsigned count() const { return count_; }

  // Returns the chosen heap, locked. A request that found its heap held by another thread (it
  // waited, or took another heap) counts in the heap that serves it: the contention figure.
  HeapT* acquire(size_t need) {
    if (count_ == 1 || __libc_single_threaded) {
      if (heaps_[0].lock.lock()) ++heaps_[0].counters.contended;
      return &heaps_[0];
    }
    unsigned start = current();
    bool busy = false;
    HeapT* chosen = considersize_ ? first_with_room(start, need, &busy) : first_free(start, &busy);
    if (chosen == nullptr) {
      chosen = &heaps_[start];
      chosen->lock.lock();
      busy = true;
    }
    chosen->counters.contended += busy;
    if (chosen->index >= used_.load(std::memory_order_relaxed)) raise_used(chosen->index + 1);
    // A heap that would have to grow for a request beyond the small sizes lends it from another
    // heap's free space first, if one has room: memory freed into the heap of a thread that is gone
    // or idle serves the threads that run (the thread keeps its own heap for its next request).
    if (need > kLendAbove && chosen->policy.largest_free() < need) {
      if (HeapT* other = other_with_room(chosen, need)) {
        chosen->lock.unlock();
        return other;
      }
    }
    return chosen;
  }

  // The heap this thread starts from (index + 1; 0: not chosen yet), to hand down to the next thread
  // when this one exits: a program that replaces its threads keeps using the same heaps instead of
  // spreading over all n of them.
  // It is taken only while no live thread starts from it.
  static unsigned home() { return t_heap; }
  void inherit(unsigned home) {
    if (t_heap != 0 || home == 0 || home > count_ || s_homes[home - 1].load(std::memory_order_relaxed) != 0) return;
    t_heap = home;
    count_home(home - 1);
  }

  // In a forked child only the calling thread lives on: the others' counts go.
  void forget_other_threads() {
    for (auto& n : s_homes) n.store(0, std::memory_order_relaxed);
    if (t_home != 0) s_homes[t_home - 1].store(1, std::memory_order_relaxed);
  }

  // The thread's own heap, not locked.
  HeapT* own() { return (count_ == 1 || __libc_single_threaded) ? &heaps_[0] : &heaps_[current()]; }

  // The thread's own heap, locked, waiting for it if need be.
  HeapT* acquire_own() {
    HeapT* h = own();
    h->counters.contended += h->lock.lock();
    return h;
  }

 private:
  // The heap this thread starts from (index + 1; 0 before its first request): one initial-exec TLS
  // word. A thread's heap is the one the fewest live threads start from (first_home()).
  static inline __thread unsigned t_heap = 0;
  // The heap this thread is counted in (index + 1; 0: none), and the count of live threads per heap.
  static inline __thread unsigned t_home = 0;
  static inline std::atomic<unsigned> s_homes[kMaxHeaps] = {};
  static inline bool s_hook_added = false;

  unsigned current() {
    if (t_heap == 0 || t_heap > count_) t_heap = first_home() + 1;
    return t_heap - 1;
  }

  // The lowest-numbered heap with the fewest live threads (two threads choosing at once may both
  // take it: they then spread when they collide, as any two threads on one heap do).
  unsigned first_home() {
    unsigned best = 0, least = ~0u;
    for (unsigned i = 0; i < count_ && least != 0; ++i) {
      unsigned n = s_homes[i].load(std::memory_order_relaxed);
      if (n < least) {
        least = n;
        best = i;
      }
    }
    count_home(best);
    return best;
  }

  // Counts this thread in heap i until it exits; not while its exit cannot be watched (while the
  // exit hook is being set up, or once the thread's exit has begun).
  static void count_home(unsigned i) {
    if (t_home != 0 || !s_hook_added || !thread_exit::watch()) return;
    s_homes[i].fetch_add(1, std::memory_order_relaxed);
    t_home = i + 1;
  }

  static void on_thread_exit() {
    if (t_home == 0) return;
    s_homes[t_home - 1].fetch_sub(1, std::memory_order_relaxed);
    t_home = 0;
  }

  // After its own heap, the lowest-numbered one free: threads that collide move down, not round
  // the ring, so no more heaps grow than threads run at once (plus one).
  HeapT* first_free(unsigned start, bool* busy) {
    if (heaps_[start].lock.try_lock_briefly()) return &heaps_[start];
    *busy = true;
    for (unsigned h = 0; h < count_; ++h)
      if (h != start && heaps_[h].lock.try_lock()) return &heaps_[h];
    return nullptr;
  }

  static constexpr size_t kLendAbove = 512 + kHeaderSize;

  void raise_used(unsigned n) {
    unsigned u = used_.load(std::memory_order_relaxed);
    while (u < n && !used_.compare_exchange_weak(u, n, std::memory_order_relaxed)) {
    }
  }

  // Another heap that has been used, whose lock is free now and whose largest free block holds
  // `need`, locked; nullptr if none. Called with `self` locked: try_lock only, never waits.
  HeapT* other_with_room(HeapT* self, size_t need) {
    unsigned used = used_.load(std::memory_order_relaxed);
    for (unsigned h = 0; h < used && h < count_; ++h) {
      HeapT* heap = &heaps_[h];
      if (heap == self || !heap->lock.try_lock()) continue;
      if (heap->policy.largest_free() >= need) return heap;
      heap->lock.unlock();
    }
    return nullptr;
  }

  // Holds at most two locks, both taken with try_lock: never waits while holding one.
  HeapT* first_with_room(unsigned start, size_t need, bool* busy) {
    HeapT* fallback = nullptr;
    for (unsigned i = 0, h = start; i < count_; ++i, h = h + 1 == count_ ? 0 : h + 1) {
      HeapT* heap = &heaps_[h];
      if (!heap->lock.try_lock()) {
        *busy |= h == start;
        continue;
      }
      if (heap->policy.largest_free() >= need) {
        if (fallback) fallback->lock.unlock();
        return heap;
      }
      if (fallback == nullptr) {
        fallback = heap;
      } else {
        heap->lock.unlock();
      }
    }
    return fallback;
  }

  HeapT* heaps_ = nullptr;
  std::atomic<unsigned> used_{1};  // heaps 0 .. used_-1 have served a request (0 serves the first)
  unsigned count_ = 1;
  bool considersize_ = false;
};


// One heap: its lock (kept apart, MultiheapLayer's locks_), its memory, its policy (wrapped in the
// per-heap layers) and its counters.
template <HeapPolicy P>
struct Heap {
  explicit Heap(Lock* l) : lock(*l), memory(Owner::make(OwnerKind::kHeap, this)), policy(&memory) {}
  Lock& lock;
  HeapMemory memory;
  struct Counters {
    uint64_t allocations = 0, frees = 0, reallocs = 0;
    uint64_t failures = 0;   // requests this heap could not satisfy
    uint64_t contended = 0;  // requests that found a heap's lock held by another thread
  } counters;
  unsigned index = 0;
  // Last: what building a heap writes then lies on one page, and the buckets' tables (4 KiB,
  // written only when MALLOCOPTIONS=buckets is on) at the end of it (options/buckets.h).
  P policy;
};

// The bottom layer of every stack: n heaps (one without multiheap). It takes the heap's lock around
// each call into the policy, validates every pointer before the policy trusts it, and reports any
// pointer that no layer above it claimed as not ours.
template <HeapPolicy P>
class MultiheapLayer {
 public:
  using HeapT = Heap<P>;

  void configure(const Config& c) {
    config_ = &c;
    unsigned n = c.enabled(OptionId::kMultiheap) ? static_cast<unsigned>(c.value(OptionId::kMultiheap)) : 1;
    for (unsigned i = 0; i < n; ++i) {
      new (&heaps_[i]) HeapT(&locks_[i].lock);
      heaps_[i].index = i;
      if constexpr (requires(P& q) { q.configure(c); }) heaps_[i].policy.configure(c);
    }
    selector_.configure(heaps_.at, n, c.enabled(OptionId::kConsidersize));
    if constexpr (requires(P& q, size_t* n) { q.give_back_kept(size_t{0}, n); }) {
      reclaim::heaps.self = this;
      reclaim::heaps.give_back = [](void* self, size_t want) {
        return static_cast<MultiheapLayer*>(self)->give_back_kept(want);
      };
    }
  }

  // Another part of the allocator is about to take `want` bytes (libmalloc/base/reclaim.h): the
  // heaps give back as much of the freed memory they keep and do not reuse themselves, the first
  // heaps first; a heap that is busy, or still keeps some, is asked again next time. The bytes they
  // gave back.
  size_t give_back_kept(size_t want) {
    reclaim::heaps.keeping.store(false, std::memory_order_relaxed);
    bool again = false;
    size_t given = 0;
    for (unsigned i = 0; i < heap_count(); ++i) {
      HeapT& h = heaps_[i];
      if (given >= want || !h.lock.try_lock()) {
        again = true;
        continue;
      }
      again |= h.policy.give_back_kept(want - given, &given);
      h.lock.unlock();
    }
    if (again) reclaim::heaps.keeping.store(true, std::memory_order_relaxed);
    return given;
  }

  unsigned heap_count() const { return selector_.count(); }

  void* allocate(size_t size, size_t align) {
    HeapT* h = selector_.acquire(size + kHeaderSize);
    void* p = h->policy.allocate(size, align);
    if (p) {
      ++h->counters.allocations;
      h->lock.unlock();
      return p;
    }
    ++h->counters.failures;
    h->lock.unlock();
    // When the chosen heap cannot satisfy a request, AIX tries the other heaps before failing.
    for (unsigned i = 0; i < heap_count(); ++i) {
      if (&heaps_[i] == h) continue;
      LockGuard guard(heaps_[i].lock);
      p = heaps_[i].policy.allocate(size, align);
      if (p) {
        ++heaps_[i].counters.allocations;
        return p;
      }
    }
    return nullptr;
  }

  // Checks p under its heap's lock; reports misuse and never returns if p is not a live block.
  void release(void* p, Owner o, const char* call) {
    HeapT* h = heap_of(p, o, call);
    HeapGuard guard(h);
    validate(h, p, call);
    ++h->counters.frees;
    h->policy.release(p);
  }

  size_t usable_size(void* p, Owner o, const char* call) {
    HeapT* h = heap_of(p, o, call);
    HeapGuard guard(h);
    validate(h, p, call);
    return h->policy.usable_size(p);
  }

  // Resizes within the owning heap; nullptr when it cannot (p untouched: the caller moves it).
  void* reallocate(void* p, Owner o, size_t size) {
    HeapT* h = heap_of(p, o, "realloc");
    HeapGuard guard(h);
    validate(h, p, "realloc");
    void* q = h->policy.reallocate(p, size);
    if (q) {
      ++h->counters.reallocs;
    } else {
      ++h->counters.failures;
    }
    return q;
  }

  // calloc: a heap block may hold old data, but for what its policy noted as never written.
  void clear(void* p, size_t size) { fresh::clear(p, size); }

  size_t trim() {
    size_t total = 0;
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heaps_[i].lock);
      total += heaps_[i].policy.disclaim_free();
    }
    return total;
  }

  // The first broken invariant, as "heap i: " and the policy's reason.
  bool check(Text* why) {
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heaps_[i].lock);
      TextBuf<200> reason;
      if (!heaps_[i].policy.check(why ? &reason : nullptr)) {
        if (why) why->str("heap ").num(i).str(": ").str(reason.data(), reason.size());
        return false;
      }
    }
    return true;
  }

  bool any_allocation() {
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heaps_[i].lock);
      if (heaps_[i].counters.allocations) return true;
    }
    return false;
  }

  // Each heap's figures, one lock at a time, then the per-heap layers' own.
  void statistics(Statistics& f) {
    f.heaps = heap_count();
    for (unsigned i = 0; i < heap_count(); ++i) {
      HeapT& h = heaps_[i];
      HeapFigures& o = f.heap[i];
      o.locked = h.lock.is_locked();
      LockGuard guard(h.lock);
      o.index = h.index;
      o.allocations = h.counters.allocations;
      o.frees = h.counters.frees;
      o.reallocs = h.counters.reallocs;
      o.failures = h.counters.failures;
      o.contended = h.counters.contended;
      o.acquired = h.memory.committed();
      o.free_bytes = h.policy.free_bytes() + (o.acquired - h.memory.given());  // acquired = free + held
      o.free_blocks = h.policy.free_blocks();
      o.largest_free = h.policy.largest_free();
      o.grow_calls = h.memory.grow_calls();
      if constexpr (requires(const P& q) { q.heap_statistics(f, i); }) h.policy.heap_statistics(f, i);
      if (i == 0) heap_range(h.memory, &f.totals);
    }
  }

  // dbx's brk values, for heap 0: the start of its first segment and its newest segment's top.
  static void heap_range(const HeapMemory& memory, ProcessFigures* t) {
    const Segment* s = memory.segments();
    if (s == nullptr) return;
    t->brk_current = s->top;
    while (s->next != nullptr) s = s->next;
    t->brk_initial = s->base;
  }

  // pthread_atfork: every heap lock, in index order.
  void fork_prepare() {
    for (unsigned i = 0; i < heap_count(); ++i) heaps_[i].lock.lock();
  }
  void fork_parent() {
    for (unsigned i = heap_count(); i-- > 0;) heaps_[i].lock.unlock();
  }
  void fork_child() {
    for (unsigned i = 0; i < heap_count(); ++i) heaps_[i].lock.reset_in_child();
    selector_.forget_other_threads();
  }
  // In a child forked without the locks (libmalloc/fork.cpp): a heap whose lock was held may be
  // half-way through a change that will never finish. Its memory passes in the address map to an
  // owner of the bootstrap area's kind, with no object: its blocks stay valid, are never reused
  // (free() of one does nothing, realloc() copies it) and their prefixes give their sizes. The heap
  // starts again, empty, with its first request. Nothing of the old heap is read but its lock word.
  void fork_child_set_aside() {
    for (unsigned i = 0; i < heap_count(); ++i) {
      HeapT* h = &heaps_[i];
      if (!h->lock.is_locked()) continue;
      address_map().replace_in_child(Owner::make(OwnerKind::kHeap, h), Owner::make(OwnerKind::kBootstrap, nullptr));
      new (h) HeapT(&locks_[i].lock);  // the old one is abandoned, not destroyed: its memory stays mapped
      locks_[i].lock.reset_in_child();
      h->index = i;
      if constexpr (requires(P& q) { q.configure(*config_); }) h->policy.configure(*config_);
    }
  }

  // For the thread cache above: batches of blocks between a cache and one heap, under one
  // acquisition of its lock.
  unsigned own_heap() { return selector_.own()->index; }
  unsigned heap_index(Owner o) const { return o.object<HeapT>()->index; }
  // Allocates up to `want` blocks of `size` bytes from this thread's heap, handing each to take(p).
  template <class Take>
  unsigned allocate_batch(size_t size, unsigned want, Take take) {
    HeapT* h = selector_.acquire_own();
    unsigned got = 0;
    for (; got < want; ++got) {
      void* p = h->policy.allocate(size, kAlignment);
      if (p == nullptr) break;
      take(p);
    }
    h->counters.allocations += got;
    h->lock.unlock();
    return got;
  }
  // Runs give(release) with heap i locked; release(p) frees one in-use block of that heap.
  template <class Give>
  void release_batch(unsigned i, Give give) {
    HeapT& h = heaps_[i];
    HeapGuard guard(&h);
    give([&h](void* p) {
      ++h.counters.frees;
      h.policy.release(p);
    });
  }
  // The heap this thread starts from, handed down to the thread that takes over its cache.
  unsigned thread_home() const { return HeapSelector<HeapT>::home(); }
  void inherit_thread_home(unsigned home) { selector_.inherit(home); }

 private:
  // A heap's lock around one call of the program, counting the wait when another thread held it.
  class HeapGuard {
   public:
    explicit HeapGuard(HeapT* h) : h_(h) { h_->counters.contended += h_->lock.lock(); }
    ~HeapGuard() { h_->lock.unlock(); }
    HeapGuard(const HeapGuard&) = delete;
    HeapGuard& operator=(const HeapGuard&) = delete;

   private:
    HeapT* h_;
  };

  static HeapT* heap_of(void* p, Owner o, const char* call) {
    if (o.kind() != OwnerKind::kHeap) report_misuse(call, p, Misuse::kNotOwned);
    return o.object<HeapT>();
  }

  static void validate(HeapT* h, void* p, const char* call) {
    switch (h->policy.state(p)) {
      case BlockState::kInUse:
        return;
      case BlockState::kFree:
        report_misuse(call, p, Misuse::kDoubleFree);
      case BlockState::kNotABlock:
        report_misuse(call, p, Misuse::kNotABlock);
    }
  }

  // The heaps' locks, side by side, a cache line each: fork's handlers in a threaded process take
  // and release every one, and each page that holds one costs a copy-on-write fault in the parent
  // (its unlock) and one in the child (its reset) at every fork. In the heaps, 32 heaps were 64
  // faults a fork; here they are two.
  struct alignas(64) HeapLock {
    Lock lock;
  };
  HeapLock locks_[kMaxHeaps];
  HeapSelector<HeapT> selector_;
  const Config* config_ = nullptr;  // the runtime's, for a heap rebuilt in a forked child
  // Room for kMaxHeaps heaps, of which configure() builds the n in use: a process with one heap
  // never touches the pages of the other 31 (the stack lives in .bss). Last, so that the members
  // above share heap 0's pages.
  union Heaps {
    Heaps() {}
    ~Heaps() {}  // the heaps live as long as the process
    HeapT& operator[](unsigned i) { return at[i]; }
    HeapT at[kMaxHeaps];
  } heaps_;
};

}  // namespace aixmalloc
