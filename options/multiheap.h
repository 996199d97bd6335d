// MALLOCOPTIONS=multiheap[:n] and considersize (spec 3.3): which of n heaps serves a request.
//
// Until the process has a second thread every request goes to heap 0, so a single-threaded program
// behaves as with one heap. After that each thread has a heap of its own to start from, given round
// robin when it first allocates, then the heap it used last. It waits a few hundred cycles for that
// heap if it is busy (heap critical sections are that short), and otherwise takes the first one
// whose lock it gets without waiting; if all n are busy it waits for its own. Batches for the
// thread cache always wait for the thread's heap (acquire_own): a batch is worth the wait, and
// moving on would grow another heap each time a consumer thread flushes into this one (measured:
// 54 MiB instead of 11 for one producer/consumer pair over 32 heaps). With considersize
// it prefers, among the heaps it can lock, one whose largest free block fits the request, so memory
// is reused instead of growing another heap (and pays for looking).
//
// DESIGN.md says "starting after the last one it used"; starting *at* it keeps an uncontended thread
// on one heap, whose blocks are warm in its cache, and still spreads threads when they collide.
#pragma once

#include <sys/single_threaded.h>

#include <atomic>

namespace aixmalloc {

template <class HeapT>
class HeapSelector {
 public:
  void configure(HeapT* heaps, unsigned count, bool considersize) {
    heaps_ = heaps;
    count_ = count;
    considersize_ = considersize;
  }
  unsigned count() const { return count_; }

  // Returns the chosen heap, locked.
  HeapT* acquire(size_t need) {
    if (count_ == 1 || __libc_single_threaded) {
      heaps_[0].lock.lock();
      return &heaps_[0];
    }
    unsigned start = current();
    HeapT* chosen = considersize_ ? first_with_room(start, need) : first_free(start);
    if (chosen == nullptr) {
      chosen = &heaps_[start];
      chosen->lock.lock();
    }
    t_heap = chosen->index + 1;
    return chosen;
  }

  // The heap this thread starts from (index + 1; 0: not chosen yet), to hand down to the next thread
  // when this one exits: a program that replaces its threads keeps using the same heaps instead of
  // spreading over all n of them.
  static unsigned home() { return t_heap; }
  static void inherit(unsigned home) {
    if (t_heap == 0) t_heap = home;
  }

  // The thread's own heap, not locked.
  HeapT* own() { return (count_ == 1 || __libc_single_threaded) ? &heaps_[0] : &heaps_[current()]; }

  // The thread's own heap, locked, waiting for it if need be.
  HeapT* acquire_own() {
    HeapT* h = own();
    h->lock.lock();
    return h;
  }

 private:
  // The heap this thread used last (index + 1; 0 before its first request): one initial-exec TLS
  // word. A thread's first heap is handed out round robin.
  static inline __thread unsigned t_heap = 0;
  unsigned current() {
    if (t_heap == 0 || t_heap > count_)
      t_heap = next_.fetch_add(1, std::memory_order_relaxed) % count_ + 1;
    return t_heap - 1;
  }

  HeapT* first_free(unsigned start) {
    if (heaps_[start].lock.try_lock_briefly()) return &heaps_[start];
    for (unsigned i = 1, h = start + 1 == count_ ? 0 : start + 1; i < count_;
         ++i, h = h + 1 == count_ ? 0 : h + 1)
      if (heaps_[h].lock.try_lock()) return &heaps_[h];
    return nullptr;
  }

  // Holds at most two locks, both taken with try_lock: never waits while holding one.
  HeapT* first_with_room(unsigned start, size_t need) {
    HeapT* fallback = nullptr;
    for (unsigned i = 0, h = start; i < count_; ++i, h = h + 1 == count_ ? 0 : h + 1) {
      HeapT* heap = &heaps_[h];
      if (!heap->lock.try_lock()) continue;
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
  std::atomic<unsigned> next_{0};
  unsigned count_ = 1;
  bool considersize_ = false;
};

}  // namespace aixmalloc
