// The replacement library of MALLOCTYPE=user:NAME: loading it, checking it, and calling it. Every
// call into it marks this thread (t_inside), so that a call it makes back into malloc is seen and
// goes to the default policy instead of recursing.
#include "libmalloc/replacement.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>

#include <atomic>
#include <cstring>

#include "libmalloc/base/caller.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/format.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc::rt::replacement {
namespace {

using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
using ReallocFn = void* (*)(void*, size_t);
using CallocFn = void* (*)(size_t, size_t);
using MallinfoFn = struct mallinfo (*)();
using MalloptFn = int (*)(int, int);
using HookFn = void (*)();
using MemalignFn = int (*)(void**, size_t, size_t);

struct Table {
  MallocFn malloc_;
  FreeFn free_;
  ReallocFn realloc_;
  CallocFn calloc_;
  MallinfoFn mallinfo_;
  MalloptFn mallopt_;
  HookFn init_;
  HookFn prefork_;
  HookFn postfork_;
  HookFn start_;         // optional
  MemalignFn memalign_;  // optional
};
AIXMALLOC_COLD Table g_fn;
AIXMALLOC_COLD char g_name[256];

// Requests served from the bootstrap area while loading: their callers (checked against the
// library once dlopen returns), and how many the start and init hooks made.
constexpr unsigned kMaxNoted = 64;
AIXMALLOC_COLD const void* g_callers[kMaxNoted];
unsigned g_noted = 0;
bool g_in_hooks = false;
unsigned g_hook_requests = 0;

std::atomic<bool> g_reentry_reported{false};

void say(const char* what, const char* detail) {
  TextBuf<512> t;
  t.str("MALLOCTYPE: replacement ")
      .quoted(g_name, strlen(g_name), sizeof(g_name))
      .str(": ")
      .str(what);
  if (detail != nullptr) t.str(detail);
  t.str("; using the default policy (Yorktown)");
  warn(t.data(), t.size());
}

// Looks up every entry point; the first required one the library lacks, or nullptr.
const char* resolve(void* h) {
  struct Entry {
    const char* name;
    void** slot;
    bool required;
  };
  const Entry entries[] = {
      {"__malloc__", reinterpret_cast<void**>(&g_fn.malloc_), true},
      {"__free__", reinterpret_cast<void**>(&g_fn.free_), true},
      {"__realloc__", reinterpret_cast<void**>(&g_fn.realloc_), true},
      {"__calloc__", reinterpret_cast<void**>(&g_fn.calloc_), true},
      {"__mallinfo__", reinterpret_cast<void**>(&g_fn.mallinfo_), true},
      {"__mallopt__", reinterpret_cast<void**>(&g_fn.mallopt_), true},
      {"__malloc_init__", reinterpret_cast<void**>(&g_fn.init_), true},
      {"__malloc_prefork_lock__", reinterpret_cast<void**>(&g_fn.prefork_), true},
      {"__malloc_postfork_unlock__", reinterpret_cast<void**>(&g_fn.postfork_), true},
      {"__malloc_start__", reinterpret_cast<void**>(&g_fn.start_), false},
      {"__posix_memalign__", reinterpret_cast<void**>(&g_fn.memalign_), false},
  };
  const char* missing = nullptr;
  for (const Entry& e : entries) {
    *e.slot = dlsym(h, e.name);
    if (*e.slot == nullptr && e.required && missing == nullptr) missing = e.name;
  }
  return missing;
}

// Whether one of the requests served while dlopen ran came from the library itself (its
// constructors); the loader's own requests come from the loader.
bool constructors_allocated(const void* inside) {
  Dl_info lib, at;
  if (dladdr(inside, &lib) == 0) return false;
  for (unsigned i = 0; i < g_noted && i < kMaxNoted; ++i)
    if (g_callers[i] != nullptr && dladdr(g_callers[i], &at) != 0 && at.dli_fbase == lib.dli_fbase)
      return true;
  return false;
}

// Marks this thread as inside the replacement for the length of one call.
struct Inside {
  const char* saved;
  explicit Inside(const char* entry) : saved(t_inside) { t_inside = entry; }
  ~Inside() { t_inside = saved; }
};

// The file to dlopen for the name the user gave. A bare name without ".so" is NAME.so, looked up as
// the loader looks up libraries. AIX names an archive and one of its members, `libm.a(mem64.o)` or
// just `libm.a` (whose member the loader picks by the program's width); Linux has no shared members
// in archives, so the archive's spelling names the shared object built from the same sources:
// libm.a and libm.a(member) are libm.so, in the archive's directory if it has one.
void shared_object_name(const char* name, char (&file)[sizeof(g_name) + 3]) {
  size_t n = strlen(name);
  memcpy(file, name, n + 1);
  const char* open = strchr(name, '(');
  if (open != nullptr && n > 0 && name[n - 1] == ')') {
    n = static_cast<size_t>(open - name);  // the member goes: one shared object serves
    file[n] = '\0';
  }
  if (n > 2 && memcmp(file + n - 2, ".a", 2) == 0) {
    memcpy(file + n - 2, ".so", 4);
    return;
  }
  if (strchr(file, '/') == nullptr && strstr(file, ".so") == nullptr) memcpy(file + n, ".so", 4);
}

}  // namespace

bool load(const char* name) {
  size_t n = strlen(name);
  if (n >= sizeof(g_name)) n = sizeof(g_name) - 1;
  memcpy(g_name, name, n);
  g_name[n] = '\0';
  char file[sizeof(g_name) + 3];
  shared_object_name(g_name, file);

  bool wanted = caller::g_wanted;
  caller::g_wanted = true;  // the loading requests note their caller
  g_loading = true;
  g_noted = 0;
  void* h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  bool ok = false;
  if (h == nullptr) {
    const char* e = dlerror();
    say("cannot be loaded: ", e ? e : "dlopen failed");
  } else {
    const char* missing = resolve(h);
    if (missing != nullptr) {
      say("lacks the required symbol ", missing);
      dlclose(h);
    } else if (constructors_allocated(reinterpret_cast<void*>(g_fn.malloc_))) {
      say("calls malloc while it is loaded (from a constructor)", nullptr);
      dlclose(h);
    } else {
      // AIX: __malloc_start__ once before any other entry point, then the initialisation hook.
      g_in_hooks = true;
      {
        Inside in("__malloc_start__");
        if (g_fn.start_) g_fn.start_();
        t_inside = "__malloc_init__";
        g_fn.init_();
      }
      g_in_hooks = false;
      if (g_hook_requests != 0)
        say("calls malloc while it is loaded (from __malloc_start__ or __malloc_init__)", nullptr);
      else
        ok = true;
    }
  }
  g_loading = false;
  caller::g_wanted = wanted;
  g_on = ok;
  return ok;
}

void note_loading_request() {
  if (g_in_hooks) {
    ++g_hook_requests;
  } else if (g_noted < kMaxNoted) {
    g_callers[g_noted++] = caller::current();
  }
  caller::forget();
}

void report_reentry() {
  if (g_reentry_reported.exchange(true, std::memory_order_relaxed)) return;
  TextBuf<512> t;
  t.str("MALLOCTYPE: replacement ")
      .quoted(g_name, strlen(g_name), sizeof(g_name))
      .str(": its ")
      .str(t_inside)
      .str(" called the malloc family; the default policy serves such calls");
  warn(t.data(), t.size());
}

void* allocate(size_t size) {
  Inside in("__malloc__");
  return g_fn.malloc_(size);
}
void* allocate_zeroed(size_t count, size_t size) {
  Inside in("__calloc__");
  return g_fn.calloc_(count, size);
}
void* reallocate(void* p, size_t size) {
  Inside in("__realloc__");
  return g_fn.realloc_(p, size);
}
void release(void* p) {
  Inside in("__free__");
  g_fn.free_(p);
}
bool has_aligned() {
  return g_fn.memalign_ != nullptr;
}
void* allocate_aligned(size_t align, size_t size) {
  Inside in("__posix_memalign__");
  void* p = nullptr;
  int rc = g_fn.memalign_(&p, align, size);
  if (rc == 0) return p;
  errno = rc;
  return nullptr;
}
void info(struct mallinfo* out) {
  Inside in("__mallinfo__");
  *out = g_fn.mallinfo_();
}
int option(int command, int value) {
  Inside in("__mallopt__");
  return g_fn.mallopt_(command, value);
}
void fork_prepare() {
  Inside in("__malloc_prefork_lock__");
  g_fn.prefork_();
}
void fork_after() {
  Inside in("__malloc_postfork_unlock__");
  g_fn.postfork_();
}

}  // namespace aixmalloc::rt::replacement
