// The configured stack over one policy (DESIGN.md "Layers"): the heaps, each with its lock, memory,
// policy, counters and buckets, and the option layers that choose among them (multiheap), give
// memory back (disclaim), serve small requests from buckets and batch blocks for the thread cache.
// Part of the assembly tier: included by runtime.cpp only, instantiated once per policy there.
#pragma once

#include <cstdint>
#include <new>

#include "libmalloc/base/address_map.h"
#include "libmalloc/base/block.h"
#include "libmalloc/config.h"
#include "libmalloc/base/heap_memory.h"
#include "libmalloc/base/lock.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/stats.h"
#include "options/buckets.h"
#include "options/disclaim.h"
#include "options/multiheap.h"
#include "options/threadcache.h"

namespace aixmalloc::rt {

// One heap: its lock, its memory and its policy's free structure.
template <class P>
struct Heap {
  Heap() : memory(Owner::make(OwnerKind::kHeap, this)), policy(&memory) {}
  Lock lock;
  HeapMemory memory;
  P policy;
  HeapCounters counters;
  Disclaimer disclaimer;
  Buckets buckets;
  tcache::Depot depot;  // cached blocks given back without the lock (options/threadcache.h)
  unsigned index = 0;
};

// The configured stack over one policy: the heaps, the multiheap selector and the disclaim layer.
template <class P>
class Stack {
 public:
  explicit Stack(const Config& c) {
    unsigned n = c.enabled(OptionId::kMultiheap) ? static_cast<unsigned>(c.value(OptionId::kMultiheap)) : 1;
    for (unsigned i = 0; i < Snapshot::kMaxHeaps; ++i) heaps_[i].index = i;
    selector_.configure(heaps_, n, c.enabled(OptionId::kConsidersize));
    disclaim_ = c.enabled(OptionId::kDisclaim);
    buckets_ = c.enabled(OptionId::kBuckets);
    for (Heap<P>& h : heaps_)
      h.buckets.configure(static_cast<unsigned>(c.value(OptionId::kNumberOfBuckets)),
                          static_cast<unsigned>(c.value(OptionId::kBucketSizingFactor)),
                          static_cast<unsigned>(c.value(OptionId::kBlocksPerBucket)));
  }

  unsigned heap_count() const { return selector_.count(); }
  Heap<P>* heap(unsigned i) { return &heaps_[i]; }

  void* allocate(size_t size, size_t align) {
    Heap<P>* h = selector_.acquire(size + kHeaderSize);
    if (buckets_ && align <= kAlignment) {
      if (size <= h->buckets.largest()) {
        if (void* b = h->buckets.allocate(h->buckets.bucket_for(size), h->policy)) {
          ++h->counters.allocations;
          h->lock.unlock();
          return b;
        }
      } else {
        ++h->buckets.default_requests;
      }
    }
    void* p = h->policy.allocate(size, align);
    if (p) {
      ++h->counters.allocations;
      h->lock.unlock();
      return p;
    }
    ++h->counters.failures;
    h->lock.unlock();
    // Spec 3.3: when the chosen heap cannot satisfy a request, the other heaps are tried first.
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

  // Thread cache: a batch of blocks of class c onto this thread's list: the whole list of the class
  // from its heap's depot when there is one (no lock), or else some from the heap under one lock.
  bool refill(tcache::ThreadCache* tc, unsigned c) {
    Heap<P>* h = selector_.own();
    tcache::Cached* last;
    unsigned n;
    if (tcache::Cached* first = h->depot.take(c, &last, &n)) {
      tcache::adopt(tc, c, first, last, n);
      return true;
    }
    size_t size = tcache::class_size(c);
    unsigned want = tcache::limit_of(c) / 2;
    h->lock.lock();
    unsigned got = 0;
    for (; got < want; ++got) {
      void* p = h->policy.allocate(size, kAlignment);
      if (p == nullptr) break;
      tcache::push(tc, c, p);
    }
    h->counters.allocations += got;
    h->lock.unlock();
    ++tc->refills;
    return got > 0;
  }

  // Thread cache: gives a list of cached blocks of class c back to the heaps that own them, a run
  // of one heap's blocks at a time: onto its depot when `to_depot` and it has room, or else into its
  // free structure under one acquisition of its lock.
  void flush(tcache::Cached* list, unsigned c, bool to_depot) {
    while (list) {
      Heap<P>* h = heap_of(list);
      tcache::Cached* last = list;
      unsigned n = 1;
      while (last->next && heap_of(last->next) == h) {
        last = last->next;
        ++n;
      }
      tcache::Cached* rest = last->next;
      if (!to_depot || !h->depot.give(c, list, last, n)) {
        last->next = nullptr;
        LockGuard guard(h->lock);
        release_cached_locked(h, list);
      }
      list = rest;
    }
  }

  // Checks p under its heap's lock; reports misuse and never returns if p is not a live block.
  void release(void* p, Owner owner, const char* call) {
    auto* h = owner.object<Heap<P>>();
    LockGuard guard(h->lock);
    if (bucket_block(h, p, call)) {
      ++h->counters.frees;
      h->buckets.release(BlockHeader::of(p));
      return;
    }
    validate(h, p, call);
    ++h->counters.frees;
    release_locked(h, p);
  }

  void release_locked(Heap<P>* h, void* p) {
    FreeRange merged = h->policy.release(p);
    if (disclaim_) h->disclaimer.after_free(h->policy, merged);
  }

  size_t usable_size(void* p, Owner owner) {
    auto* h = owner.object<Heap<P>>();
    LockGuard guard(h->lock);
    if (bucket_block(h, p, "malloc_usable_size")) return BlockHeader::of(p)->size() - kHeaderSize;
    validate(h, p, "malloc_usable_size");
    return h->policy.usable_size(p);
  }

  // Resizes within the owning heap. *moved_out receives nullptr when the heap cannot hold the new
  // size (the caller moves the block elsewhere); p is untouched in that case.
  void* reallocate(void* p, Owner owner, size_t size) {
    auto* h = owner.object<Heap<P>>();
    LockGuard guard(h->lock);
    if (bucket_block(h, p, "realloc")) {  // in place within its bucket; otherwise the caller moves it
      BlockHeader* b = BlockHeader::of(p);
      return size <= b->size() - kHeaderSize ? p : nullptr;
    }
    validate(h, p, "realloc");
    void* q = h->policy.reallocate(p, size);
    if (q) {
      ++h->counters.reallocs;
    } else {
      ++h->counters.failures;
    }
    return q;
  }

  size_t trim() {
    size_t total = 0;
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heap(i)->lock);
      drain_depot_locked(heap(i));
      total += heap(i)->policy.disclaim_free();
    }
    return total;
  }

  void snapshot(Snapshot* s) {
    s->heaps = heap_count();
    for (unsigned i = 0; i < heap_count(); ++i) {
      Heap<P>* h = heap(i);
      HeapSnapshot& o = s->heap[i];
      o.locked = h->lock.is_locked();
      LockGuard guard(h->lock);
      o.index = h->index;
      o.counters = h->counters;
      o.acquired = h->memory.committed();
      // Blocks in the depot are free to the program, though the tree counts them as allocated.
      o.free_bytes = h->policy.free_bytes() + h->buckets.free_bytes() + h->depot.bytes();
      o.free_blocks = h->policy.free_blocks();
      o.largest_free = h->policy.largest_free();
      o.grow_calls = h->memory.grow_calls();
    }
  }

  bool check(Text* why) {
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heap(i)->lock);
      if (!heap(i)->policy.check(why)) return false;
    }
    return true;
  }

  uint64_t depot_bytes() {
    uint64_t total = 0;
    for (unsigned i = 0; i < heap_count(); ++i) total += heap(i)->depot.bytes();
    return total;
  }

  bool any_allocation() {
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heap(i)->lock);
      if (heap(i)->counters.allocations) return true;
    }
    return false;
  }

  // A thread that takes over an exited thread's cache takes over its heap too; at exit it leaves
  // its own for the next one.
  void inherit_home(unsigned home) { HeapSelector<Heap<P>>::inherit(home); }
  unsigned home() const { return HeapSelector<Heap<P>>::home(); }

  // pthread_atfork: every heap lock, in index order.
  void lock_all() {
    for (unsigned i = 0; i < heap_count(); ++i) heap(i)->lock.lock();
  }
  void unlock_all() {
    for (unsigned i = heap_count(); i-- > 0;) heap(i)->lock.unlock();
  }
  void reset_locks_in_child() {
    for (unsigned i = 0; i < heap_count(); ++i) heap(i)->lock.reset_in_child();
  }
  // In a child forked without the locks (libmalloc/fork.cpp): a heap whose lock was held may be
  // half-way through a change that will never finish. Its memory passes in the address map to an
  // owner of the bootstrap area's kind, with no object: its blocks stay valid, are never reused
  // (free() of one does nothing, realloc() copies it) and their prefixes give their sizes. The heap
  // starts again, empty, with its first request. Nothing of the old heap is read but its lock word
  // and its buckets' shape, which never changes after start-up.
  void set_aside_in_child() {
    for (unsigned i = 0; i < heap_count(); ++i) {
      Heap<P>* h = heap(i);
      if (!h->lock.is_locked()) continue;
      address_map().replace_in_child(Owner::make(OwnerKind::kHeap, h), Owner::make(OwnerKind::kBootstrap, nullptr));
      unsigned count = h->buckets.count(), factor = h->buckets.factor(), blocks = h->buckets.blocks_per_bucket();
      new (h) Heap<P>();  // the old one is abandoned, not destroyed: its memory stays mapped
      h->index = i;
      h->buckets.configure(count, factor, blocks);
    }
  }

 private:
  // With buckets on: true for a live bucket block; a freed one is a double free. The prefix is read
  // only where it is sure to be mapped (as the policies' state() does).
  bool bucket_block(Heap<P>* h, void* p, const char* call) {
    if (!buckets_ || !prefix_mapped(p)) return false;
    const BlockHeader* b = BlockHeader::of(p);
    if (Buckets::is_bucket_block(b)) return true;
    if (Buckets::is_free_bucket_block(b)) report_misuse(call, p, Misuse::kDoubleFree);
    (void)h;
    return false;
  }

  static Heap<P>* heap_of(const void* p) { return address_map().lookup(p).template object<Heap<P>>(); }

  // A chain of cached blocks back into h's free structure; h is locked.
  void release_cached_locked(Heap<P>* h, tcache::Cached* list) {
    while (list) {
      tcache::Cached* next = list->next;
      BlockHeader::of(list)->mark_uncached();
      ++h->counters.frees;
      release_locked(h, list);
      list = next;
    }
  }

  void drain_depot_locked(Heap<P>* h) {
    for (unsigned c = 0; c < tcache::kClasses; ++c) {
      tcache::Cached* last;
      unsigned n;
      if (tcache::Cached* first = h->depot.take(c, &last, &n)) release_cached_locked(h, first);
    }
  }

  static void validate(Heap<P>* h, void* p, const char* call) {
    switch (h->policy.state(p)) {
      case BlockState::kInUse:
        return;
      case BlockState::kFree:
        report_misuse(call, p, Misuse::kDoubleFree);
      case BlockState::kNotABlock:
        report_misuse(call, p, Misuse::kNotABlock);
    }
  }

  Heap<P> heaps_[Snapshot::kMaxHeaps];
  HeapSelector<Heap<P>> selector_;
  bool disclaim_ = false;
  bool buckets_ = false;

 public:
  // The figures of the bucket statistics. Requests that took a range of their own (4 MiB and more)
  // count as the default allocator's, in heap 0's row.
  void bucket_report(uint64_t large_requests, BucketReport* r) {
    const Buckets& shape = heaps_[0].buckets;
    r->count = shape.count();
    r->factor = shape.factor();
    r->blocks_per_bucket = shape.blocks_per_bucket();
    r->heaps = heap_count();
    for (unsigned i = 0; i < heap_count(); ++i) {
      LockGuard guard(heaps_[i].lock);
      for (unsigned b = 0; b < shape.count(); ++b) r->per_bucket[b] += heaps_[i].buckets.requests(b);
      r->heap_buckets[i] = heaps_[i].buckets.total_requests();
      r->heap_default[i] = heaps_[i].buckets.default_requests;
    }
    r->heap_default[0] += large_requests;
  }
};

}  // namespace aixmalloc::rt
