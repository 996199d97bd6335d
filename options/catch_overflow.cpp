// catch_overflow's choice of the requests it guards (catch_overflow.h): debug_range, functionset
// (by the caller's symbol, looked up once per call site), and aixmalloc's sampled mode.
#include "options/catch_overflow.h"

#include <dlfcn.h>

#include <atomic>
#include <cstring>

#include "libmalloc/base/caller.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/platform.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::guard {
namespace {

const DebugSettings* g_debug = nullptr;

// Call sites already looked up: the return address, with bit 62 set when the site is chosen and
// bit 63 when the entry is filled. Direct-mapped; a collision only costs another lookup.
constexpr size_t kSites = 1024;
AIXMALLOC_LARGE_TABLE std::atomic<uint64_t> g_sites[kSites];

}  // namespace

__thread uint64_t t_countdown = 0;

bool start(const Config& c, Choice* out) {
  Settings s;
  s.align = c.value(OptionId::kAlign);
  s.allow_overreading = c.enabled(OptionId::kAllowOverreading);
  s.postfree_checking = c.enabled(OptionId::kPostfreeChecking);
  s.quarantine_bytes = s.postfree_checking ? c.value(OptionId::kQuarantine) : 0;
  if (!configure(s)) return false;
  g_debug = &c.debug;
  *out = Choice{};
  if (c.enabled(OptionId::kDebugRange)) {
    out->min = c.debug.range_min;
    out->max = c.debug.range_max;
    out->every = false;
  }
  if (c.enabled(OptionId::kFunctionset) && c.debug.function_count > 0) {
    out->functions = true;
    out->every = false;
    caller::g_wanted = true;
  }
  if (c.enabled(OptionId::kSample) && c.value(OptionId::kSample) > 1) {
    out->sample = c.value(OptionId::kSample);
    out->every = false;
  }
  install_fault_handler(c.enabled(OptionId::kOverrideSignalHandling));
  return true;
}

// dladdr() names the symbol that contains the return address: the exported functions of every
// object, and the executable's own when it is linked with -rdynamic. It takes the loader's lock,
// which a thread already holding it may take again; no lock of the allocator is held here.
bool caller_chosen() {
  uintptr_t ra = reinterpret_cast<uintptr_t>(caller::current());
  if (ra == 0 || g_debug == nullptr) return false;
  std::atomic<uint64_t>& site = g_sites[(ra >> 2) % kSites];
  uint64_t seen = site.load(std::memory_order_relaxed);
  constexpr uint64_t kFilled = uint64_t{1} << 63, kChosen = uint64_t{1} << 62;
  if ((seen & kFilled) && (seen & (kChosen - 1)) == ra) return (seen & kChosen) != 0;
  Dl_info info;
  bool chosen = false;
  if (dladdr(reinterpret_cast<void*>(ra - 1), &info) && info.dli_sname) {
    for (size_t i = 0; i < g_debug->function_count && !chosen; ++i)
      chosen = strcmp(info.dli_sname, g_debug->functions[i]) == 0;
  }
  site.store(kFilled | (chosen ? kChosen : 0) | ra, std::memory_order_relaxed);
  return chosen;
}

// One request in n, at intervals drawn at random in [1, 2n) so that a program's periodic pattern
// of requests cannot keep one size or site from ever being guarded.
// A thread's first request (its countdown was 0 and wrapped) only draws the first countdown.
bool sample_hit(uint64_t n) {
  bool first = t_countdown >= n * 2;
  t_countdown = 1 + os::random_bits() % (2 * n - 1);
  return !first;
}

}  // namespace aixmalloc::guard
