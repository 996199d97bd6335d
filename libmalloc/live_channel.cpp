// The channel of `aixmalloc stats --pid` (aixmalloc(7), AIXMALLOC_STATS_SIGNAL): which signal
// carries the requests, the advert that tells the CLI, and the program's own sigaction() calls,
// which find that signal as if aixmalloc were not there. live_stats.cpp answers the requests.
//
//   start-up   AIXMALLOC_STATS_SIGNAL=SIG: SIG. Unset: the highest of SIGRTMAX-1..SIGRTMAX-8 whose
//              action is SIG_DFL (first among those this thread does not block).
//   advert     an empty memfd named "aixmalloc-live sig=N cookie=C" (live_stats_path.h) at
//              descriptor 63 (kAdvertFloor), close-on-exec: the CLI finds it in /proc/PID/fd.
//              A forked child shares it (it has the same handler and cookie); exec closes it; it
//              ends with the process.
//              A change makes a new memfd and moves it onto the same descriptor, so a child's and
//              its parent's adverts never change each other.
//   program    sets SIG_DFL on the picked signal: recorded as what it sees, the channel stays.
//              Sets anything else: its action replaces aixmalloc's, and the channel moves to
//              another free candidate (a new advert), or, none being free, ends ("sig=0 taken=N").
//              On the signal it named, AIXMALLOC_STATS_SIGNAL's channel ends at once.
#include <errno.h>

#include <atomic>
#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/live_stats_path.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::rt {
namespace {

constinit std::atomic<int> g_signal{0};       // the channel's signal; 0: none
constinit std::atomic<bool> g_active{false};  // a channel was opened: its candidates are watched
constinit bool g_explicit = false;            // AIXMALLOC_STATS_SIGNAL named it
constinit uint64_t g_cookie = 0;
constinit int g_advert = -1;
constinit os::FileIdentity g_advert_file;
// What the program sees for the picked signal: the action it had before aixmalloc took it, or the
// default action the program set since. Left all zero bits (a default action with nothing set)
// while that is what it would hold: a process's first claim leaves its page untouched
// (g_view_written).
AIXMALLOC_COLD struct ::sigaction g_program_view;
constinit bool g_view_written = false;

// One thread at a time changes the channel or sets an action on one of its signals, so that a
// move never installs aixmalloc's handler over an action the program sets at the same moment. A
// signal handler that calls sigaction() while its thread holds the lock goes on without it.
constinit std::atomic<uintptr_t> g_owner{0};
class ChannelLock {
 public:
  ChannelLock() {
    uintptr_t me = os::thread_self();
    if (g_owner.load(std::memory_order_relaxed) == me) return;
    for (uintptr_t expected = 0;
         !g_owner.compare_exchange_weak(expected, me, std::memory_order_acquire); expected = 0)
      os::yield();
    held_ = true;
  }
  ~ChannelLock() {
    if (held_) g_owner.store(0, std::memory_order_release);
  }
  ChannelLock(const ChannelLock&) = delete;
  ChannelLock& operator=(const ChannelLock&) = delete;

 private:
  bool held_ = false;
};

// The last descriptor of the table of 64 the kernel gives every process: one above it made the
// kernel build a table of 1,024 at start-up and free it at exit, which cost a short process
// (cat) 1 % of its time; no program expects its next open() to land this high.
constexpr int kAdvertFloor = 63;

int candidate(int i) {
  return SIGRTMAX - kLiveFirstOffset - i;
}
bool is_candidate(int sig) {
  return sig <= candidate(0) && sig > candidate(kLiveCandidates);
}

// Replaces the advert with one that says `advert`; with none when a memfd cannot be made (an
// advert that says what is no longer true is worse than none).
void publish(const LiveAdvert& advert) {
  TextBuf<96> name;
  live_advert_name(name, advert);
  // At kAdvertFloor or the first free one above; under a lower limit, in its upper half.
  int fd = os::create_named_file(name.c_str(), kAdvertFloor);
  if (fd < 0) {
    int limit = os::descriptor_limit(kAdvertFloor);
    if (limit < kAdvertFloor)
      fd = os::create_named_file(name.c_str(), limit / 2 > 3 ? limit / 2 : 3);
  }
  bool ours = g_advert >= 0 && os::identity_of(g_advert) == g_advert_file;
  if (fd >= 0 && ours && os::move_descriptor(fd, g_advert)) {
    g_advert_file = os::identity_of(g_advert);
    return;
  }
  if (ours) os::close_file(g_advert);  // the program may have closed ours and reused the number
  g_advert = fd;
  g_advert_file = os::identity_of(fd);
}

// A default action with no mask, flags or restorer: what a process starts with for a signal nobody
// set. Only the kernel's 64 bits of sa_mask are read: libc leaves the rest of its 1024 undefined.
bool never_set(const struct ::sigaction& a) {
  uint64_t mask;
  memcpy(&mask, &a.sa_mask, sizeof mask);
  return a.sa_handler == SIG_DFL && a.sa_flags == 0 && a.sa_restorer == nullptr && mask == 0;
}

// Takes `sig` if its action is SIG_DFL: aixmalloc's handler, the advert. Under the lock.
bool claim(int sig) {
  struct ::sigaction now;
  if (os::set_signal_action(sig, nullptr, &now) != 0 || now.sa_handler != SIG_DFL) return false;
  if (!os::catch_signal_info(sig, live_signal_handler)) return false;
  if (g_view_written || !never_set(now)) {
    g_program_view = now;
    g_view_written = true;
  }
  g_signal.store(sig, std::memory_order_release);
  publish(LiveAdvert{sig, g_cookie, 0});
  return true;
}

// The program took `taken`: the next free candidate, or no channel.
void move_from(int taken) {
  for (int i = 0; i < kLiveCandidates; ++i)
    if (candidate(i) != taken && claim(candidate(i))) return;
}

}  // namespace

void start_live_channel() {
  if (g_config.stats_signal == kStatsSignalOff || os::is_secure()) return;
  prepare_live_statistics();
  g_cookie = os::random_bits() & ~kLiveKindMask;
  if (g_cookie == 0) g_cookie = kLiveKindMask + 1;
  ChannelLock lock;
  g_active.store(true, std::memory_order_release);
  if (int sig = g_config.stats_signal; sig > 0) {
    g_explicit = true;
    if (!os::catch_signal_info(sig, live_signal_handler)) {
      static const char kNoHandler[] =
          "AIXMALLOC_STATS_SIGNAL: cannot install the handler; live statistics are off";
      warn(kNoHandler, sizeof(kNoHandler) - 1);
      return;
    }
    g_signal.store(sig, std::memory_order_release);
    publish(LiveAdvert{sig, g_cookie, 0});
    return;
  }
  for (int i = 0; i < kLiveCandidates; ++i)
    if (!os::signal_blocked(candidate(i)) && claim(candidate(i))) return;
  for (int i = 0; i < kLiveCandidates; ++i)
    if (claim(candidate(i))) return;
}

bool live_channel_watches(int sig) {
  if (!g_active.load(std::memory_order_acquire)) return false;
  return sig == g_signal.load(std::memory_order_acquire) || (!g_explicit && is_candidate(sig));
}

int live_channel_sigaction(int sig, const struct ::sigaction* act, struct ::sigaction* old) {
  ChannelLock lock;
  if (sig != g_signal.load(std::memory_order_acquire)) return os::set_signal_action(sig, act, old);
  if (act == nullptr && g_explicit) return os::set_signal_action(sig, act, old);
  struct ::sigaction seen = g_program_view;
  if (act != nullptr && act->sa_handler == SIG_DFL && !g_explicit) {
    g_program_view = *act;  // what the program sees; aixmalloc's handler keeps the default action
    g_view_written = true;
  } else if (act != nullptr) {
    // The advert first: a request read from it from now on is not sent to the program's handler.
    publish(LiveAdvert{0, 0, sig});
    if (os::set_signal_action(sig, act, g_explicit ? &seen : nullptr) != 0) {
      int err = errno;
      publish(LiveAdvert{sig, g_cookie, 0});
      errno = err;
      return -1;
    }
    g_signal.store(0, std::memory_order_release);
    if (!g_explicit) move_from(sig);  // a signal AIXMALLOC_STATS_SIGNAL named is not replaced
  }
  if (old != nullptr) *old = seen;
  return 0;
}

LiveRequestKind live_request_kind(int sig, const siginfo_t* info) {
  bool queued = info != nullptr && info->si_code == SI_QUEUE;
  uint64_t value = queued ? reinterpret_cast<uintptr_t>(info->si_value.sival_ptr) : 0;
  if (queued && (value & ~kLiveKindMask) == g_cookie) {
    if ((value & kLiveKindMask) == kLiveStatistics) return LiveRequestKind::kStatistics;
    if ((value & kLiveKindMask) == kLiveLeaks) return LiveRequestKind::kLeaks;
  }
  if (g_explicit)  // as before the advert existed: a plain kill, or sigqueue()'s value 1
    return queued && info->si_value.sival_int == 1 ? LiveRequestKind::kLeaks
                                                   : LiveRequestKind::kStatistics;
  // Not from `aixmalloc stats`: what the program would have had without aixmalloc, the default
  // action, which for a real-time signal ends the process. The signal is blocked while its handler
  // runs, so the one raised here is delivered, with SIG_DFL, as the handler returns.
  if (sig == g_signal.load(std::memory_order_acquire) && g_program_view.sa_handler == SIG_DFL) {
    struct ::sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    os::set_signal_action(sig, &dfl, nullptr);
    os::raise_signal(sig);
  }
  return LiveRequestKind::kNone;
}

void live_channel_reset_in_child() {  // writes only when set (Lock::reset_held_in_child)
  if (g_owner.load(std::memory_order_relaxed) != 0) g_owner.store(0, std::memory_order_relaxed);
}

}  // namespace aixmalloc::rt
