// A small static area for calls that arrive while start-up is under way on the same thread
// (DESIGN.md invariant 4). Bump-allocated, never reused: free() of such a block does nothing.
// It lives in the address map like any other range, so free() needs no extra test.
#pragma once

#include <cstddef>

#include "libmalloc/base/address_map.h"

namespace aixmalloc::bootstrap {

void* allocate(size_t size, size_t align);  // nullptr when the area is exhausted
size_t usable_size(void* p);
size_t used();
// After fork, in the child: the thread that held the area's lock does not exist there, or will not
// finish its call (a fork from a signal handler); the area's bump pointer is one word, so it is
// consistent either way.
void reset_in_child();

}  // namespace aixmalloc::bootstrap
