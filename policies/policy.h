// What every back-end policy provides (DESIGN.md "Policies"). The runtime picks one policy type at
// start-up and instantiates its heaps with it; nothing on the per-call path is virtual.
//
//   explicit P(HeapMemory* memory);
//   void* allocate(size_t size, size_t align);   // align: power of two >= 16; nullptr when the OS
//                                                // refuses more memory
//   BlockState state(void* p) const;             // classify a pointer the address map gave us
//   FreeRange release(void* p);                  // p is in use (state() said so); the free block
//                                                // it is now part of
//   void* reallocate(void* p, size_t size);      // in place or moved; nullptr leaves p intact
//   size_t usable_size(void* p) const;
//   size_t free_bytes() const;  size_t largest_free() const;  size_t free_blocks() const;
//   size_t disclaim_free();                      // give whole free pages back; bytes disclaimed
//   bool check(Text* why) const;                 // verify every invariant; false + reason if broken
//   static constexpr bool kCoalescing;          // free neighbours merge (Yorktown, Watson)
//
// The caller holds the heap's lock around every call.
#pragma once

#include <boost/intrusive/options.hpp>

namespace aixmalloc {

#ifdef NDEBUG
inline constexpr boost::intrusive::link_mode_type kLinkMode = boost::intrusive::normal_link;
#else
inline constexpr boost::intrusive::link_mode_type kLinkMode = boost::intrusive::safe_link;
#endif

}  // namespace aixmalloc
