// Symbolizer, first form: the module and the nearest dynamic symbol through dladdr(). No file and
// line yet; the reports print module+offset so that `aixmalloc leaks` can name them later.
#include "libmalloc/symbolize.h"

#include <dlfcn.h>

#include <cstring>

namespace aixmalloc::rt {

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

bool Symbolizer::name(uintptr_t pc, FrameName* out) {
  *out = FrameName{};
  Dl_info info;
  if (pc == 0 || dladdr(reinterpret_cast<void*>(pc - 1), &info) == 0) return false;
  out->module.path = info.dli_fname ? info.dli_fname : "";
  out->module.base = reinterpret_cast<uintptr_t>(info.dli_fbase);
  out->offset = pc - out->module.base;
  if (info.dli_sname) {
    strncpy(out->function, info.dli_sname, sizeof(out->function) - 1);
    out->function_offset = pc - reinterpret_cast<uintptr_t>(info.dli_saddr);
  }
  return true;
}

}  // namespace aixmalloc::rt
