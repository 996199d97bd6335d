// The Malloc Log's tables (options/malloc_log_table.h): records aggregate by heap, size and stack
// and never move; the live table inserts, replaces, removes and filters, through its growth.
#include "options/malloc_log_table.h"

#include "options/malloc_log_side.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>
#include <vector>

using namespace aixmalloc::mlog;

TEST(MallocLogRecords, AggregatesBySizeStackAndHeap) {
  Records r;
  ASSERT_TRUE(r.init(6, 1000));
  uintptr_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 7};
  uint32_t x = r.intern(0, 100, a, 6, false);
  EXPECT_EQ(r.intern(0, 100, a, 6, false), x);
  EXPECT_NE(r.intern(0, 100, b, 6, false), x);  // differs beyond the API's four callers
  EXPECT_NE(r.intern(0, 101, a, 6, false), x);
  EXPECT_NE(r.intern(1, 100, a, 6, false), x);
  EXPECT_NE(r.intern(0, 100, a, 5, false), x);
  EXPECT_EQ(r.count(), 5u);
  // The API's view: the first four callers, then the terminator.
  EXPECT_EQ(r.live_array()[x].callers[3], 4u);
  EXPECT_EQ(r.live_array()[r.count()].callers[0], 0u);
  r.add(x), r.add(x), r.drop(x);
  EXPECT_EQ(r.record(x).cnt, 1u);
  r.zero_counts(1);
  EXPECT_EQ(r.record(x).cnt, 1u);
  r.zero_counts(-1);
  EXPECT_EQ(r.record(x).cnt, 0u);
  r.destroy();
}

TEST(MallocLogRecords, FullTableCountsInTheOverflowRecord) {
  Records r;
  ASSERT_TRUE(r.init(4, 3));
  uintptr_t f[4] = {9, 9, 9, 9};
  for (size_t s = 0; s < 3; ++s) EXPECT_LT(r.intern(0, s, f, 4, false), 3u);
  EXPECT_EQ(r.intern(0, 99, f, 4, false), kOverflow);
  r.add(kOverflow);
  EXPECT_EQ(r.record(kOverflow).cnt, 1u);
  r.destroy();
}

TEST(MallocLogRecords, ManyRecordsGrowWithoutMoving) {
  Records r;
  ASSERT_TRUE(r.init(4, 200000));
  Record* base = r.live_array();
  uintptr_t f[4] = {1, 2, 3, 4};
  for (size_t s = 0; s < 150000; ++s) ASSERT_EQ(r.intern(0, s, f, 4, s % 2), s);
  EXPECT_EQ(r.live_array(), base);
  EXPECT_EQ(r.truncated(), 75000u);
  for (size_t s = 0; s < 150000; s += 997) EXPECT_EQ(r.intern(0, s, f, 4, false), s);
  r.destroy();
}

// Threads intern the same stacks at once while the index doubles again and again: each stack
// gets one record, found again by every thread, and its count is exact.
TEST(MallocLogRecords, ThreadsInternAcrossTheIndexGrowth) {
  constexpr unsigned kThreads = 4, kStacks = 20000;
  Records r;
  ASSERT_TRUE(r.init(4, 100000));
  std::vector<std::vector<uint32_t>> got(kThreads, std::vector<uint32_t>(kStacks));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (unsigned k = 0; k < kStacks; ++k) {
        unsigned s = (k * 7919 + t * 1237) % kStacks;  // each thread in its own order
        uintptr_t f[4] = {0x1000 + s, 0x2000, 0x3000 + s % 7, 0x4000};
        got[t][s] = r.intern(s % 3, 16 + s % 5, f, 4, false);
        r.add(got[t][s]);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.count(), kStacks);
  for (unsigned s = 0; s < kStacks; ++s) {
    for (unsigned t = 1; t < kThreads; ++t) ASSERT_EQ(got[t][s], got[0][s]) << s;
    ASSERT_EQ(r.record(got[0][s]).cnt, kThreads);
    ASSERT_EQ(r.record(got[0][s]).callers[0], 0x1000 + s);
  }
  r.destroy();
}

TEST(MallocLogLive, InsertRemoveReplaceAgainstAModel) {
  LiveTable t;
  ASSERT_TRUE(t.init(true));
  std::map<uintptr_t, uint32_t> model;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 400000; ++step) {
    uintptr_t a = 0x10000 + (rng() % 100000) * 16;
    uint32_t rec = static_cast<uint32_t>(rng() % 1000);
    if (rng() % 3) {
      Extended e{static_cast<uint64_t>(step), 0, 1, 2};
      uint32_t had = t.insert(a, rec, &e);
      auto it = model.find(a);
      ASSERT_EQ(had, it == model.end() ? kNoRecord : it->second);
      model[a] = rec;
    } else {
      uint32_t had = t.remove(a);
      auto it = model.find(a);
      ASSERT_EQ(had, it == model.end() ? kNoRecord : it->second);
      if (it != model.end()) model.erase(it);
    }
  }
  EXPECT_EQ(t.live(), model.size());
  size_t seen = 0;
  t.for_each([&](const LiveEntry& e) {
    ++seen;
    EXPECT_EQ(model.at(e.address), e.record);
  });
  EXPECT_EQ(seen, model.size());
  // 8 bytes per slot, at least 1/2 full after a growth (7/8 before it), plus the extended fields.
  EXPECT_LE(t.metadata_bytes(), model.size() * 2 * (8 + sizeof(Extended)) + 64 * 4096 * 8);
  t.filter([](uint32_t rec, uint64_t) { return rec % 2 == 0; });
  for (auto& [a, rec] : model) EXPECT_EQ(t.remove(a), rec % 2 == 0 ? rec : kNoRecord);
  EXPECT_EQ(t.live(), 0u);
  t.destroy();
}

// Without `extended`, an entry may carry the block's size and heap (table_aux) with a record of its
// stack, counted when the log is read: the word follows its entry through replacement, growth
// (tens of thousands of entries) and the backward shifts of removal, and for_each_deferred()
// sees exactly the entries that have one.
TEST(MallocLogLive, DeferredEntriesKeepTheirSizeAndHeap) {
  LiveTable t;
  ASSERT_TRUE(t.init(false));
  std::map<uintptr_t, std::pair<uint32_t, uint64_t>> model;
  std::mt19937_64 rng(11);
  for (int step = 0; step < 300000; ++step) {
    uintptr_t a = 0x7f0000000000 + (rng() % 60000) * 16;
    uint32_t rec = static_cast<uint32_t>(rng() % 1000);
    uint64_t aux = rng() % 4 ? table_aux(rng() % 100000, static_cast<unsigned>(rng() % 32)) : 0;
    if (rng() % 3) {
      uint64_t had_aux = 99;
      uint32_t had = t.insert(a, rec, nullptr, true, aux, &had_aux);
      auto it = model.find(a);
      ASSERT_EQ(had, it == model.end() ? kNoRecord : it->second.first);
      if (it != model.end()) {
        ASSERT_EQ(had_aux, it->second.second);
      }
      model[a] = {rec, aux};
    } else {
      uint64_t got = 99;
      uint32_t had = t.remove(a, nullptr, &got);
      auto it = model.find(a);
      ASSERT_EQ(had, it == model.end() ? kNoRecord : it->second.first);
      if (it != model.end()) {
        ASSERT_EQ(got, it->second.second);
        model.erase(it);
      }
    }
  }
  std::map<std::pair<uint32_t, uint64_t>, size_t> want, seen;
  for (auto& [a, e] : model)
    if (e.second != 0) ++want[e];
  t.for_each_deferred([&](uint32_t rec, uint64_t aux) { ++seen[{rec, aux}]; });
  EXPECT_EQ(seen, want);
  EXPECT_EQ(aux_size(table_aux(12345, 7)), 12345u);
  EXPECT_EQ(aux_heap(table_aux(12345, 7)), 7u);
  EXPECT_NE(table_aux(0, 0), 0u);  // a block of 0 bytes in heap 0 is deferred too
  t.destroy();
}

// The side arrays (options/malloc_log_side.h): one entry per block number of every page, distinct,
// reading 0 until written; committed as pages are reached, none past the reservation; what is
// written is resident and counted, and clearing gives it back.
TEST(MallocLogSide, EntriesPerPageCommittedCountedAndCleared) {
  namespace side = aixmalloc::mlog::side;
  side::Entry* first = side::entry(side::kWatson2, 0, 0);
  ASSERT_NE(first, nullptr);
  uint64_t resident = side::resident_bytes();
  for (size_t page : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1000}}) {
    for (uint32_t k : {0u, 1u, 4095u}) {
      side::Entry* e = side::entry(side::kWatson2, page, k);
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(e - first, static_cast<ptrdiff_t>(page * side::kEntriesPerPage + k));
      EXPECT_EQ(e->load(), 0u);
      e->store(static_cast<uint32_t>(page * 7 + k + 1));
    }
  }
  EXPECT_EQ(side::entry(side::kWatson2, 1000, 4095)->load(), 1000u * 7 + 4095 + 1);
  // Five pages of the area written, two memory pages of entries each (blocks 0 and 1 share the
  // first): 10 of them resident beyond what was before.
  EXPECT_GE(side::resident_bytes(), resident + 10 * 4096);
  EXPECT_EQ(side::entry(side::kWatson2, side::kMaxPages, 0), nullptr);  // beyond the reservation
  side::clear_all();
  EXPECT_EQ(side::entry(side::kWatson2, 1000, 4095)->load(), 0u);
  EXPECT_EQ(side::entry(side::kWatson2, 0, 1)->load(), 0u);
  EXPECT_LT(side::resident_bytes(), resident + 4 * 4096);
}
