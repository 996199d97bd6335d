// IBM's tuning advice, each line with the configuration it recommends. The options are named by
// their OptionId from the one table, so a renamed option cannot leave this file behind.
#include "tools/cli/advice.h"

namespace aixmalloc::cli {

namespace {

constexpr unsigned bit(Policy p) {
  return 1u << static_cast<unsigned>(p);
}
constexpr unsigned bit(OptionId o) {
  return 1u << static_cast<unsigned>(o);
}
static_assert(kOptionCount <= 32, "options are a 32-bit mask here");

struct Rule {
  Advice text;
  unsigned policies;  // the policies the line names; 0 when it names none
  unsigned options;   // bit(OptionId) of each option the line names
  bool about_memory;
};

const Rule kRules[] = {
    {{"32-bit, single-threaded", "keep the default allocator"}, bit(Policy::kYorktown), 0, false},
    {{"64-bit", "Watson"}, bit(Policy::kWatson), 0, false},
    {{"multi-threaded", "multiheap, with about as many heaps as threads that allocate at once"},
     0,
     bit(OptionId::kMultiheap),
     false},
    {{"many allocations and frees of blocks smaller than 513 bytes", "pool"},
     0,
     bit(OptionId::kPool),
     false},
    {{"many allocations of a few fixed sizes above 512 bytes",
      "buckets, with the bucket options sized to those requests"},
     0,
     bit(OptionId::kBuckets),
     false},
    {{"old, performance-critical program with no fragmentation problem", "3.1"},
     bit(Policy::kV31) | bit(Policy::kV31_64),
     0,
     false},
    {{"the process stays large after it frees memory", "disclaim"},
     0,
     bit(OptionId::kDisclaim),
     true},
    {{"most multi-threaded programs",
      "Watson with multiheap and pool: the pool front end handles the many small requests quickly, "
      "multiheap scales the larger ones"},
     bit(Policy::kWatson),
     bit(OptionId::kMultiheap) | bit(OptionId::kPool),
     false},
};

}  // namespace

const Advice* advice_for(const Config& c, bool won_on_memory) {
  const Rule* best = nullptr;
  int best_score = 0;
  for (const Rule& r : kRules) {
    if (r.policies && !(r.policies & bit(c.policy))) continue;
    unsigned on = 0;
    for (size_t i = 0; i < kOptionCount; ++i)
      if (c.options[i].on) on |= 1u << i;
    if ((r.options & on) != r.options) continue;
    // An option the line asks for says more about a configuration than its policy does.
    int score = (r.policies ? 1 : 0) + 2 * __builtin_popcount(r.options);
    bool better =
        score > best_score || (score == best_score && best && best->about_memory != won_on_memory &&
                               r.about_memory == won_on_memory);
    if (better) {
      best = &r;
      best_score = score;
    }
  }
  return best ? &best->text : nullptr;
}

}  // namespace aixmalloc::cli
