// "Has memory stayed free long enough to give back?": a one-second timer on the coarse monotonic
// clock (read from the vDSO: no system call, a few nanoseconds). Used by the disclaim layer and by
// the 3.1 policy's page return, so that a program that frees and reuses the same memory in a loop
// keeps its pages, while one that is done with its memory gives it back a second later.
#pragma once

#include <cstdint>

#include "libmalloc/base/os.h"

namespace aixmalloc {

class DecayTimer {
 public:
  static constexpr uint64_t kDelayNs = 1'000'000'000;

  // Called when memory becomes free. True once, when memory first freed a second ago or more is
  // due to go back; the timer then starts again with the next free.
  bool due() {
    uint64_t now = os::now_ns() + 1;  // never 0, which means "nothing free"
    if (since_ == 0) {
      since_ = now;
      return false;
    }
    if (now - since_ < kDelayNs) return false;
    since_ = 0;
    return true;
  }

 private:
  uint64_t since_ = 0;  // when memory first became free since the last return; 0: none
};

}  // namespace aixmalloc
