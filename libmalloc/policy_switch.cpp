// The room of the configured stack's heaps (policy_switch.h): a table of the library's own, after
// the small variables, touched a page at a time as heaps are built.
#include "libmalloc/policy_switch.h"

#include "libmalloc/base/lock.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::rt {

AIXMALLOC_LARGE_TABLE alignas(4096) unsigned char PolicySwitch::g_room[PolicySwitch::kSize];
constinit std::atomic<bool> PolicySwitch::g_room_claimed{false};
AIXMALLOC_FORK_LOCK constinit Lock PolicySwitch::g_build_lock;

}  // namespace aixmalloc::rt
