// The allocator's one per-thread lifecycle, shared by every layer that keeps per-thread state (the
// pool's ThreadPool, the thread cache's ThreadCache): one pthread key whose destructor runs each
// layer's exit hook, in the order the layers registered them, and one state per thread that keeps
// a layer from attaching while the key is being set (pthread_setspecific may call malloc) or once
// the thread's exit has begun.
//
//   kFresh --watch()--> kWatching --> kWatched --thread exit--> kExited
//                        (a malloc here is served without per-thread state)
#pragma once

namespace aixmalloc::thread_exit {

// A layer's hook, run once at the thread's exit, with no allocator lock held.
using Hook = void (*)();

// Registers a hook; at start-up, before any thread can exit. False when the pthread key cannot be
// made or all slots are taken (the caller then keeps no per-thread state).
bool add_hook(Hook hook);

// True when this thread's exit will run the hooks (arranged now if need be). False while that is
// being arranged (re-entered from pthread_setspecific) and after the thread's exit has begun: the
// caller then serves the request without per-thread state.
bool watch();

}  // namespace aixmalloc::thread_exit
