// The configured stack: composed once from the layers, each wrapping the next (Heap Layers' "a
// layer wraps the next"). A layer that is not configured passes every call through with one
// predictable branch. The runtime configures the one stack at start-up (runtime.cpp) and calls
// it; it knows no layer's internals.
//
//   MallocTraceLayer     MALLOCDEBUG=trace: a record of every call                 options/malloc_trace.h
//   MallocLogLayer       MALLOCDEBUG=log, report_allocations: stacks of live blocks  options/malloc_log.h
//   CatchOverflowLayer   MALLOCDEBUG=catch_overflow: blocks before guard pages     options/catch_overflow.h
//   MallocDetectLayer    MALLOCDEBUG=validate_ptrs, fill, checkarena, verbose     options/malloc_detect.h
//   Watson2Layer         MALLOCTYPE=watson2: <= 16 KiB, per-thread heaps           policies/watson2.h
//   PoolLayer            MALLOCOPTIONS=pool: <= 512 bytes, per-thread pools      options/pool.h
//   ThreadCacheLayer     MALLOCOPTIONS=threadcache: < 4096 bytes, per thread     options/threadcache.h
//   LargeBlockLayer      >= 4 MiB: an address range per block                    options/large_blocks.h
//   PolicySwitch         MALLOCTYPE: the heaps of the configured policy          policy_switch.h
//   MultiheapLayer       MALLOCOPTIONS=multiheap[:n], considersize: the heaps    options/multiheap.h
//     per heap, under its lock:
//     BucketsLayer       MALLOCOPTIONS=buckets: small sizes in fixed classes     options/buckets.h
//     DisclaimLayer      MALLOCOPTIONS=disclaim: free pages back to the system   options/disclaim.h
//     the policy         Yorktown | Watson | 3.1                                 policies/
//
// Every layer provides: configure(Config); allocate(size, align); release, usable_size and
// reallocate of a pointer with its owner word (reallocate: in place, or nullptr and the runtime
// moves the block); clear (calloc); trim; statistics; fork_prepare, fork_parent, fork_child. The
// per-heap layers provide the policy interface (policies/policy.h). Adding a layer is a new header
// in options/ and one line here (or in policy_switch.h for a per-heap one).
//
// The MALLOCDEBUG layers sit above PlainStack. A process without them pays nothing for them: the
// runtime decides once at start-up (g_debug_layers, from debug_active()) and then calls either the
// whole stack or its PlainStack part, one predictable branch per call. A debug layer answers
// debug_active() for itself and asks the next.
//
// Every member of every layer is zero until configure() sets it, so that the stack (170 KiB, most
// of it the room for 32 heaps) lies in .bss and a process has only the pages it writes. One
// non-zero default would move it all to .data, mapped from the file and read in at start-up.
#pragma once

#include "libmalloc/policy_switch.h"
#include "options/catch_overflow.h"
#include "options/large_blocks.h"
#include "options/malloc_log.h"
#include "options/malloc_detect.h"
#include "options/malloc_trace.h"
#include "options/pool.h"
#include "options/threadcache.h"
#include "policies/watson2.h"

namespace aixmalloc::rt {

using PlainStack = watson2::Watson2Layer<pool::PoolLayer<tcache::ThreadCacheLayer<LargeBlockLayer<PolicySwitch>>>>;
using Stack =
    trace::MallocTraceLayer<mlog::MallocLogLayer<CatchOverflowLayer<detect::MallocDetectLayer<PlainStack>>>>;

}  // namespace aixmalloc::rt
