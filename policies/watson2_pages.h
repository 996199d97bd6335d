// Watson2's pages, for policies/watson2.cpp alone: the area and its page records, fresh pages,
// and the empty pages no heap holds, kept resident while they stay within the heaps' recent peak
// and then given back to the system a run of neighbours at a time.
#pragma once

#include <cstdint>

#include "libmalloc/base/lock.h"
#include "libmalloc/base/statistics.h"
#include "policies/watson2.h"

namespace aixmalloc::watson2 {

// The area, the records' commit, every heap list (watson2.cpp) and the empty pages.
[[gnu::visibility("hidden")]] extern Lock g_lock;

namespace pages {

// Reserves the area and its records (configure()); false when the address space cannot be had.
bool open();
void close();  // undoes open() before any page was taken

inline uintptr_t address_of(const Page* page) {
  return g_area.base + (static_cast<uintptr_t>(g_area.pages - page) << kPageShift);
}

// An empty page for a heap: one given up lately (still resident), then one given back to the
// system, then a fresh one; nullptr when the area is full. *fresh: the page's memory comes from the
// system (its first touch raises the process's resident size). g_lock is held.
Page* take_locked(bool* fresh);

// An empty page that no heap keeps: for any heap (watson2_pages.cpp says how long it stays
// resident). give_back takes g_lock.
void give_back_locked(Page* page);
void give_back(Page* page);
// malloc_trim: every empty page of no heap goes back to the system. g_lock is held.
void return_all_locked();
uint64_t disclaimed_locked();
void figures_locked(Watson2Figures* out);  // the empty pages' figures
// In a child forked while g_lock was held: the lists may be half-way through a change, so their
// pages are left where they are.
void forget_in_child();

}  // namespace pages
}  // namespace aixmalloc::watson2
