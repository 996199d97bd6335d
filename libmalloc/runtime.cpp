// Start-up, the assembled stack and the request semantics. The only file of libmalloc/ that knows
// the policies (and, later, the option layers): it instantiates them.
#include "libmalloc/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>

#include "libmalloc/address_map.h"
#include "libmalloc/block.h"
#include "libmalloc/bootstrap.h"
#include "libmalloc/direct.h"
#include "libmalloc/heap_memory.h"
#include "libmalloc/lock.h"
#include "libmalloc/meta.h"
#include "libmalloc/os.h"
#include "libmalloc/report.h"
#include "libmalloc/reports.h"
#include "libmalloc/stack.h"
#include "options/buckets.h"
#include "options/disclaim.h"
#include "options/multiheap.h"
#include "options/pool.h"
#include "options/threadcache.h"
#include "policies/three_one.h"
#include "policies/watson.h"
#include "policies/yorktown.h"

extern char** environ;

namespace aixmalloc::rt {
namespace {

enum State : int { kUninit, kStarting, kReady };
constinit std::atomic<int> g_state{kUninit};
constinit std::atomic<int> g_starter{0};
constinit Config g_config;
bool g_tcache = false;  // MALLOCOPTIONS=threadcache (default under watson)
// AIXMALLOC_STATS_SIGNAL: a document is being written; requests received so far.
constinit std::atomic<bool> g_live_busy{false};
constinit std::atomic<uint64_t> g_live_requests{0};
Policy g_policy = Policy::kYorktown;
size_t g_default_align = kAlignment;  // mallopt(M_MALIGN)


constexpr size_t kStackSize =
    std::max({sizeof(Stack<Yorktown>), sizeof(Stack<Watson>), sizeof(Stack<ThreeOne>)});
alignas(64) unsigned char g_stack_storage[kStackSize];

// The one switch from the configured policy to its typed stack. Every per-call operation goes
// through here: a predictable branch, no virtual call.
template <class Fn>
decltype(auto) with_stack(Fn&& fn) {
  switch (g_policy) {
    case Policy::kWatson:
      return fn(*reinterpret_cast<Stack<Watson>*>(g_stack_storage));
    case Policy::kV31:
    case Policy::kV31_64:
      return fn(*reinterpret_cast<Stack<ThreeOne>*>(g_stack_storage));
    default:
      return fn(*reinterpret_cast<Stack<Yorktown>*>(g_stack_storage));
  }
}

void build_stack() {
  switch (g_policy) {
    case Policy::kWatson:
      new (g_stack_storage) Stack<Watson>(g_config);
      break;
    case Policy::kV31:
    case Policy::kV31_64:
      new (g_stack_storage) Stack<ThreeOne>(g_config);
      break;
    default:
      new (g_stack_storage) Stack<Yorktown>(g_config);
      break;
  }
}

void print_diagnostics(const Diagnostics& d) {
  for (size_t i = 0; i < d.count; ++i) warn(d.lines[i], strlen(d.lines[i]));
  if (d.dropped) {
    TextBuf<96> t;
    t.num(d.dropped).str(" more configuration problems not shown");
    warn(t.data(), t.size());
  }
}

void start() {
  RawVariables raw;
  read_variables(environ, &raw);
  ParseContext ctx;
  ctx.secure = os::is_secure();
  parse_config(raw, ctx, &g_config);
  print_diagnostics(g_config.diagnostics);
  g_policy = g_config.policy;
  build_stack();
  g_tcache = g_config.enabled(OptionId::kThreadcache);
  if (g_config.enabled(OptionId::kPool)) {
    if (pool::configure(g_config.value(OptionId::kPool))) {
      g_pool_fast.store(true, std::memory_order_release);
    } else {
      static const char kNoRoom[] = "MALLOCOPTIONS: pool: no address space for the pool; pool is off";
      warn(kNoRoom, sizeof(kNoRoom) - 1);
    }
  }
}

void install_stats_signal();

// True when the runtime is ready; false when the caller re-entered from its own start-up and must
// use the bootstrap area. Other threads wait for the starter, who never waits for them.
bool ensure_started() {
  int s = g_state.load(std::memory_order_acquire);
  if (s == kReady) return true;
  int expected = kUninit;
  if (s == kUninit && g_state.compare_exchange_strong(expected, kStarting)) {
    g_starter.store(os::thread_id(), std::memory_order_relaxed);
    start();
    g_state.store(kReady, std::memory_order_release);
    if (g_config.stats_signal) install_stats_signal();  // its handler needs a ready runtime
    return true;
  }
  if (g_starter.load(std::memory_order_relaxed) == os::thread_id()) return false;
  while (g_state.load(std::memory_order_acquire) != kReady) sched_yield();
  return true;
}

inline bool ready() { return g_state.load(std::memory_order_acquire) == kReady; }

void* fail_nomem() {
  errno = ENOMEM;
  return nullptr;
}

void tcache_exit(void* arg);

// A request under 4096 bytes from this thread's cache, refilled in a batch when empty.
tcache::ThreadCache* tcache_attach() {
  tcache::ThreadCache* tc = tcache::attach(tcache_exit);
  if (tc && tc->home_heap) with_stack([&](auto& st) { st.inherit_home(tc->home_heap); });
  return tc;
}

void* tcache_allocate(size_t size) {
  tcache::ThreadCache* tc = tcache::t_cache;
  if (tc == nullptr && (tc = tcache_attach()) == nullptr) return nullptr;
  unsigned c = tcache::class_of(size);
  if (void* p = tcache::pop(tc, c)) return p;
  if (!with_stack([&](auto& st) { return st.refill(tc, c); })) return nullptr;
  return tcache::pop(tc, c);
}

// A heap block freed into this thread's cache, when it is a valid, cacheable one. Reading the
// prefix without the heap's lock is safe: an allocated block's prefix changes only when its owner,
// the caller, frees or resizes it. Anything doubtful goes the locked way, which reports misuse.
bool tcache_release(void* p) {
  if (!prefix_mapped(p)) return false;
  const BlockHeader* h = BlockHeader::of(p);
  if (!h->valid_in_use() || h->size() - kHeaderSize >= tcache::kLimit + 64) return false;
  tcache::ThreadCache* tc = tcache::t_cache;
  if (tc == nullptr && (tc = tcache_attach()) == nullptr) return false;
  unsigned c = tcache::class_for_block(h->size() - kHeaderSize);
  if (tcache::push(tc, c, p)) {
    tcache::Cached* half = tcache::take(tc, c, tc->count[c] / 2);
    with_stack([&](auto& st) { st.flush(half, c, true); });
  }
  return true;
}

// The thread caches' figures and the bytes waiting in the heaps' depots.
void cache_totals(tcache::Totals* t) {
  tcache::totals(t);
  t->depot_bytes = with_stack([](auto& st) { return st.depot_bytes(); });
}

void tcache_exit(void* arg) {
  auto* tc = static_cast<tcache::ThreadCache*>(arg);
  tc->home_heap = with_stack([](auto& st) { return st.home(); });
  for (unsigned c = 0; c < tcache::kClasses; ++c) {
    if (tc->count[c] == 0) continue;
    tcache::Cached* all = tcache::take(tc, c, tc->count[c]);
    with_stack([&](auto& st) { st.flush(all, c, false); });
  }
  tcache::retire(tc);
}

// What a pointer into a large block's range that is not a live block is.
Misuse direct_misuse(void* p, Owner o) {
  return direct::freed(p, o) ? Misuse::kDoubleFree : Misuse::kNotABlock;
}

void* allocate_ready(size_t size, size_t align) {
  if (size > kMaxRequest) return fail_nomem();
  if (g_tcache && size < tcache::kLimit && align == kAlignment) {
    if (void* p = tcache_allocate(size)) return p;
  }
  void* p = size >= kDirectThreshold ? direct::allocate(size, align)
                                     : with_stack([&](auto& st) { return st.allocate(size, align); });
  return p ? p : fail_nomem();
}

void* allocate_any(size_t size, size_t align) {
  if (__builtin_expect(!ready(), 0) && !ensure_started()) {
    void* p = bootstrap::allocate(size, align);
    return p ? p : fail_nomem();
  }
  if (align < g_default_align) align = g_default_align;
  return allocate_ready(size, align);
}

size_t usable_size_of(void* p, Owner o, const char* call) {
  switch (o.kind()) {
    case OwnerKind::kHeap:
      return with_stack([&](auto& st) { return st.usable_size(p, o); });
    case OwnerKind::kDirect:
      if (!direct::valid(p, o)) report_misuse(call, p, direct_misuse(p, o));
      return direct::usable_size(p, o);
    case OwnerKind::kBootstrap:
      return bootstrap::usable_size(p);
    case OwnerKind::kNone:
      break;
  }
  report_misuse(call, p, Misuse::kNotOwned);
}

// Moves a block to a fresh allocation: the general realloc, when resizing in place cannot work.
void* move_block(void* p, Owner o, size_t size) {
  size_t old = usable_size_of(p, o, "realloc");
  void* q = allocate_ready(size, kAlignment);
  if (q == nullptr) return nullptr;
  memcpy(q, p, old < size ? old : size);
  release(p, "realloc");
  return q;
}

// Every allocator lock, in one order: the thread caches' list, the heaps, the pool, the records,
// the address map. Each lock is only ever taken while holding locks earlier in this order (a heap
// growing takes the map lock; a cache attaching takes its list lock, then, separately, the records'),
// so the prepare handler cannot deadlock against a thread inside the allocator.
void fork_prepare() {
  if (!ready()) return;
  tcache::lock_for_fork();
  with_stack([](auto& st) { st.lock_all(); });
  pool::lock_for_fork();
  meta_lock_for_fork();
  address_map().lock().lock();
  direct::lock_for_fork();  // a leaf: held with no other lock
}
void fork_parent() {
  if (!ready()) return;
  direct::unlock_after_fork();
  address_map().lock().unlock();
  meta_unlock_after_fork();
  pool::unlock_after_fork();
  with_stack([](auto& st) { st.unlock_all(); });
  tcache::unlock_after_fork();
}
void fork_child() {
  if (!ready()) return;
  address_map().lock().reset_in_child();
  direct::reset_in_child();
  meta_reset_in_child();
  pool::reset_in_child();
  with_stack([](auto& st) { st.reset_locks_in_child(); });
  tcache::reset_in_child();
  Lock::reset_held_in_child();
  g_live_busy.store(false, std::memory_order_relaxed);
}

int open_destination(const Destination& d) {
  switch (d.kind) {
    case Destination::kStdout:
      return STDOUT_FILENO;
    case Destination::kStderr:
      return STDERR_FILENO;
    case Destination::kPath: {
      if (os::is_secure()) return -1;
      int fd = open(d.path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
      if (fd < 0) {
        TextBuf<400> t;
        t.str("cannot open ").str(d.path).str(" for the report; writing it to stderr");
        warn(t.data(), t.size());
        return STDERR_FILENO;
      }
      return fd;
    }
    case Destination::kNone:
      break;
  }
  return -1;
}

__attribute__((constructor)) void on_load() {
  ensure_started();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void gather_buckets(BucketReport* r) {
  uint64_t direct = direct::totals().allocations;
  with_stack([&](auto& st) { st.bucket_report(direct, r); });
}

// Opens a report's destination, lets `render` write to it through a stack buffer, closes it.
template <class Render>
void write_report(const Destination& d, Render render) {
  int fd = open_destination(d);
  if (fd < 0) return;
  TextBuf<4096> out;
  render(out, fd);
  if (fd > STDERR_FILENO) close(fd);
}

void bucket_statistics_report() {
  write_report(g_config.bucket_statistics, [](Text& out, int fd) {
    BucketReport r;
    gather_buckets(&r);
    render_buckets(r, out, fd);
  });
}

// Every statistic as one JSON document, from the same snapshot and bucket figures as the text
// reports. Takes each lock it needs one at a time; allocates nothing.
void render_json_document(Text& out, int fd) {
  Snapshot s;
  snapshot(&s);
  BucketReport r;
  bool buckets = g_config.enabled(OptionId::kBuckets);
  if (buckets) gather_buckets(&r);
  pool::Totals pt;
  if (pool::enabled()) pool::totals(&pt);
  tcache::Totals tt;
  if (g_tcache) cache_totals(&tt);
  render_json(s, buckets ? &r : nullptr, pool::enabled() ? &pt : nullptr, g_tcache ? &tt : nullptr,
              out, fd);
}

// AIXMALLOC_STATS_JSON: the document at exit.
void json_report() { write_report(g_config.stats_json, render_json_document); }

// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): the document on request, for `aixmalloc stats --pid`.
// Written to a new file, then renamed into place, so a reader sees a whole document; only
// async-signal-safe calls (open, write, rename, close, getpid, gettid).
constinit char g_live_dir[16] = "/dev/shm";

void write_live_statistics() {
  TextBuf<96> path, tmp;
  uint64_t pid = static_cast<uint64_t>(getpid());
  path.str(g_live_dir).str("/aixmalloc-stats.").num(pid).str(".json").ch('\0');
  tmp.str(g_live_dir).str("/.aixmalloc-stats.").num(pid).ch('.')
      .num(static_cast<uint64_t>(syscall(SYS_gettid))).str(".tmp").ch('\0');
  unlink(tmp.data());  // a leftover of a thread that died while writing
  int fd = open(tmp.data(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  TextBuf<4096> out;
  render_json_document(out, fd);
  close(fd);
  if (rename(tmp.data(), path.data()) != 0) unlink(tmp.data());
}

// Serves every request counted so far. One thread writes at a time; a request that arrives while
// it writes (even on its own thread, from a nested signal) makes it write once more afterwards, so
// every request is answered by a document written after it arrived.
void serve_live_statistics() {
  for (;;) {
    if (g_live_busy.exchange(true, std::memory_order_acquire)) return;  // the writer sees ours
    uint64_t seen = g_live_requests.load(std::memory_order_acquire);
    write_live_statistics();
    g_live_busy.store(false, std::memory_order_release);
    if (g_live_requests.load(std::memory_order_acquire) == seen) return;
  }
}

// Writes at once when this thread holds none of the allocator's locks; otherwise (the signal
// interrupted it inside the allocator) when the last lock is released (lock.h).
void on_stats_signal(int) {
  int saved = errno;
  g_live_requests.fetch_add(1, std::memory_order_acq_rel);
  if (t_locks_held == 0) {
    serve_live_statistics();
  } else {
    defer_until_unlocked();
  }
  errno = saved;
}

void install_stats_signal() {
  struct stat st;
  if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode) || access("/dev/shm", W_OK | X_OK) != 0)
    memcpy(g_live_dir, "/tmp", 5);
  set_deferred_hook(serve_live_statistics);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stats_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(g_config.stats_signal, &sa, nullptr) != 0) {
    static const char kNoHandler[] = "AIXMALLOC_STATS_SIGNAL: cannot install the handler; live statistics are off";
    warn(kNoHandler, sizeof(kNoHandler) - 1);
  }
}

// AIXMALLOC_STATS: the dbx-style status report, then the pool's and the thread caches' figures.
void status_report() {
  write_report(g_config.stats, [](Text& out, int fd) {
    Snapshot s;
    snapshot(&s);
    render_status(s, out, fd);
    if (pool::enabled()) {
      pool::Totals t;
      pool::totals(&t);
      pool::render(t, out, fd);
      out.flush(fd);
    }
    if (g_tcache) {
      tcache::Totals t;
      cache_totals(&t);
      out.str("        Thread cache (MALLOCOPTIONS=threadcache)\n");
      out.str("                thread caches.................... ").num(t.caches).ch('\n');
      out.str("                blocks cached now................ ").num(t.blocks).str(" (")
          .num(t.bytes).str(" bytes)\n");
      out.str("                requests served from a cache..... ").num(t.hits).ch('\n');
      out.str("                batches taken from the heaps..... ").num(t.refills).ch('\n');
      out.str("                batches given back to the heaps.. ").num(t.flushes).ch('\n');
      out.str("                bytes in the heaps' depots....... ").num(t.depot_bytes).ch('\n');
      out.flush(fd);
    }
  });
}

__attribute__((destructor)) void on_exit_report() {
  if (!ready()) return;
  if (g_config.bucket_statistics.kind != Destination::kNone) bucket_statistics_report();
  if (g_config.stats_json.kind != Destination::kNone) json_report();
  if (g_config.stats.kind != Destination::kNone) status_report();
}

}  // namespace

// Pool fast path on: set at start-up before the runtime is published as ready; cleared when
// mallopt(M_MALIGN) asks for more alignment than pool blocks have.
constinit std::atomic<bool> g_pool_fast{false};

bool started() { return ready(); }

const Config& config() {
  ensure_started();
  return g_config;
}

void* allocate(size_t size) {
  if (size <= pool::kMaxRequest && g_pool_fast.load(std::memory_order_acquire)) {
    void* p = pool::allocate(size);
    if (p) return p;
  }
  return allocate_any(size, kAlignment);
}

void* allocate_aligned(size_t align, size_t size) {
  if (align > (kMaxRequest >> 1)) return fail_nomem();
  return allocate_any(size, align < kAlignment ? kAlignment : align);
}

void* allocate_zeroed(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return fail_nomem();
  void* p = allocate(total);
  // Blocks with a fresh range of their own are zero already; a range reused from the cache is not.
  if (p == nullptr) return p;
  if (address_map().lookup(p).kind() != OwnerKind::kDirect) {
    memset(p, 0, total);
  } else {
    direct::clear_if_reused(p, total);
  }
  return p;
}

void release(void* p, const char* call) {
  if (pool::owns(p)) {
    pool::release(p, call);
    return;
  }
  if (p == nullptr) return;
  Owner o = address_map().lookup(p);
  switch (o.kind()) {
    case OwnerKind::kHeap:
      if (g_tcache && tcache_release(p)) return;
      with_stack([&](auto& st) { st.release(p, o, call); });
      return;
    case OwnerKind::kDirect:
      if (!direct::valid(p, o)) report_misuse(call, p, direct_misuse(p, o));
      direct::release(p, o);
      return;
    case OwnerKind::kBootstrap:
      return;  // never reused
    case OwnerKind::kNone:
      break;
  }
  report_misuse(call, p, Misuse::kNotOwned);
}

void* reallocate(void* p, size_t size) {
  if (p == nullptr) return allocate(size);
  if (size == 0) {  // glibc: realloc(p, 0) frees p and returns NULL
    release(p, "realloc");
    return nullptr;
  }
  if (size > kMaxRequest) return fail_nomem();
  if (pool::owns(p)) {  // a pool block stays while the new size fits its class
    size_t old = pool::usable_size(p);
    if (size <= old) return p;
    void* q = allocate(size);
    if (q == nullptr) return fail_nomem();
    memcpy(q, p, old);
    pool::release(p, "realloc");
    return q;
  }
  Owner o = address_map().lookup(p);
  void* q = nullptr;
  switch (o.kind()) {
    case OwnerKind::kHeap:
      if (size < kDirectThreshold) {
        q = with_stack([&](auto& st) { return st.reallocate(p, o, size); });
        if (q) return q;
      }
      break;
    case OwnerKind::kDirect:
      if (!direct::valid(p, o)) report_misuse("realloc", p, direct_misuse(p, o));
      if (size >= kDirectThreshold) {
        q = direct::reallocate(p, o, size);
        if (q) return q;
      }
      break;
    case OwnerKind::kBootstrap:
      break;
    case OwnerKind::kNone:
      report_misuse("realloc", p, Misuse::kNotOwned);
  }
  q = move_block(p, o, size);
  return q ? q : fail_nomem();
}

size_t usable_size(void* p) {
  if (pool::owns(p)) return pool::usable_size(p);
  if (p == nullptr) return 0;
  return usable_size_of(p, address_map().lookup(p), "malloc_usable_size");
}

int mallopt(int command, int value) {
  ensure_started();
  switch (command) {
    case 1:  // M_MXFAST: AIX selects the policy with 0 (default) or 1 (3.1), before any allocation
      if (value != 0 && value != 1) return 1;  // glibc's fast-bin size: accepted, no effect
      if (direct::totals().allocations || with_stack([](auto& st) { return st.any_allocation(); }))
        return 1;
      // No block exists yet, so the heap of the old policy holds nothing: replace the stack.
      g_policy = value == 0 ? Policy::kYorktown : sizeof(void*) == 8 ? Policy::kV31_64 : Policy::kV31;
      g_config.policy = g_policy;
      build_stack();
      return 0;
    case 2:  // M_NLBLKS, M_GRAIN, M_KEEP: System V compatibility, no effect
    case 3:
    case 4:
      return 0;
    case 5:  // M_DISCLAIM
      if (value != 0 || g_policy != Policy::kYorktown) return 1;
      trim();
      return 0;
    case 6:  // M_MALIGN
      if (value <= 0 || !is_power_of_two(static_cast<size_t>(value)) ||
          static_cast<size_t>(value) < sizeof(void*))
        return 1;
      g_default_align = static_cast<size_t>(value) < kAlignment ? kAlignment : static_cast<size_t>(value);
      g_pool_fast.store(pool::enabled() && g_default_align == kAlignment, std::memory_order_release);
      return 0;
    default:  // glibc's tunables (negative commands): accepted, no effect, glibc's success value
      return 1;
  }
}

bool trim() {
  if (!ready()) return false;
  size_t cached = direct::drop_cache();
  return with_stack([](auto& st) { return st.trim(); }) + cached > 0;
}

bool check(Text* why) {
  if (!ensure_started()) return true;
  return with_stack([&](auto& st) { return st.check(why); });
}

void snapshot(Snapshot* s) {
  ensure_started();
  s->config = &g_config;
  with_stack([&](auto& st) { st.snapshot(s); });
  direct::Totals d = direct::totals();
  s->direct_blocks = d.blocks;
  s->direct_bytes = d.bytes;
  s->direct_max_blocks = d.max_blocks;
  s->direct_max_bytes = d.max_bytes;
  s->direct_allocations = d.allocations;
  s->direct_cached_bytes = d.cached_bytes;
  s->direct_cache_hits = d.cache_hits;
  s->bootstrap_bytes = bootstrap::used();
  if (pool::enabled()) {
    pool::Totals t;
    pool::totals(&t);
    s->pool_bytes = t.bytes_reserved;
    s->pool_in_use = t.bytes_in_use;
  }
  if (g_tcache) {
    tcache::Totals t;
    cache_totals(&t);
    s->cached_bytes = t.bytes;  // (the depots' bytes are in their heaps' free bytes)
  }
}

}  // namespace aixmalloc::rt
