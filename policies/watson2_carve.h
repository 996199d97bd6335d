// Watson2's blocks cut from memory, for policies/watson2.cpp alone: a page's never-used blocks, a
// few at a time, and the slices of a heap's mixed page.
//
// A class's first blocks in a heap come from the heap's mixed page, a slice at a time: about 256
// bytes of blocks (16 of 16 bytes, five of 48), or one block of a larger class, until the class
// took kMixedClassBytes there; then the class has pages of its own. A program touches memory a system
// page at a time, and a fault costs more than the work most short programs give the allocator (on
// this project's test machine, a virtual machine, 11-20 us a fault): with a page a class, a
// process that asks for blocks of 20 sizes a few times each (the C library's start-up, locale and
// streams: mktemp, basename, sort) faulted in a system page for each size, where glibc's malloc,
// which packs blocks of every size together, touches 3 to 5. The slices pack the first blocks of
// the classes as tightly (slices of 1 KiB took mktemp, sort and sed 2 to 5 page faults more, for
// blocks they never used). A class that has had 256 requests in the heap keeps to its own pages:
// its blocks in the mixed page are not used again once freed, so that a program's busy classes
// free on the inline path; a long-running program pays at most the mixed page's 64 KiB a heap.
// Slices are taken while the process has one thread.
//
//   mixed page (64 KiB, one heap):  | slice: class a | slice: class b ... | slice: class a | ...
//   Heap::mixed_class[u]: for each unit of 256 bytes, the class + 1 of the slice that starts there,
//                         in a slice's further units 0x80 + how many units back it starts, 0 where
//                         none was handed out
//
// Its record refuses every pointer on the inline paths (limit 0, class kMixed): its frees take
// the cold branch of release_with(), which finds the class from the slice. A free by the owner
// pushes the block on the class's allocation list, where the next malloc of the class pops it
// inline; any other thread's goes onto the page's remote list, as on any page, and the owner takes
// it back onto the same lists. The mixed page stays with its heap (and with the thread that adopts
// it); the heap every thread shares has none. Off while MALLOCDEBUG layers see every call
// (Area::mixed): the Malloc Log keeps a block by its page's class.
#pragma once

#include <sys/single_threaded.h>

#include <cstdint>

#include "policies/watson2.h"

namespace aixmalloc::watson2 {

// A list of never-used blocks of the page; `ahead`: bytes beyond them to make resident (a class
// with many blocks out in the heap: ready_ahead()).
Block* carve(Page* page, uint32_t ahead);
uint32_t ready_ahead(const Heap* h, unsigned c);

// Class c of heap h takes its next blocks from a slice: only while the process has one thread.
// (With threads that pass blocks to each other, the slices taken as threads started raised the
// peak of tools/bench's xfree_wide from 7.1 to 10.4 MiB, one slice a class as much as four, for
// reasons not understood yet; the blocks a program's start-up takes are single-threaded.)
inline bool wants_slice(const Heap* h, unsigned c) {
  return h->mixed_taken[c] < kMixedClassBytes && g_area.mixed && __libc_single_threaded;
}
// The page (from new_page()) becomes h's mixed page.
void open_mixed(Heap* h, Page* page);
// A list of the blocks of a new slice for class c; nullptr when h has no room left (the class
// then has pages of its own).
Block* take_slice(Heap* h, unsigned c);
// Blocks other threads freed into h's mixed page go back on its allocation lists.
void take_back_mixed(Heap* h, Page* page, Block* blocks);
// The bytes in slices handed out.
inline uint64_t mixed_bytes(const Heap* h) { return uint64_t{h->mixed_used} << kUnitShift; }

}  // namespace aixmalloc::watson2
