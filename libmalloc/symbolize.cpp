// Symbolizer: the module of a return address (path, load bias, GNU build id) from the loaded
// program headers (dl_iterate_phdr), and its function, source file and line through elfutils'
// libdwfl, which libaixmalloc.so loads with dlopen the first time a Symbolizer is made, so the
// library gains no load-time dependency. Without libdw.so.1, the nearest dynamic symbol (dladdr).
//
//   pc --dl_iterate_phdr--> module: path, bias, build id (PT_NOTE)
//      --libdwfl, one session per module file at bias 0--> function, file:line at pc - bias - 1
//
// Each module is reported to libdwfl at address 0, so the same lookup serves a running process
// (Symbolizer::name) and a file named in a leak report (Symbolizer::name_in_file, for the CLI).
#include "libmalloc/symbolize.h"

#include <dlfcn.h>
#include <elf.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <pthread.h>

#include <cstdlib>
#include <cstring>

#include "libmalloc/base/platform.h"
#include "libmalloc/base/os.h"

namespace aixmalloc::rt {

namespace {

// The few libdwfl functions used, found with dlsym. `loaded` false: dladdr only.
struct Libdw {
  bool loaded = false;
  decltype(&dwfl_begin) begin;
  decltype(&dwfl_end) end;
  decltype(&dwfl_report_begin_add) report_begin_add;
  decltype(&dwfl_report_elf) report_elf;
  decltype(&dwfl_report_end) report_end;
  decltype(&dwfl_module_addrinfo) addrinfo;
  decltype(&dwfl_module_getsrc) getsrc;
  decltype(&dwfl_lineinfo) lineinfo;
  decltype(&dwfl_module_build_id) build_id;
  decltype(&dwfl_module_getelf) getelf;
  Dwfl_Callbacks callbacks;
  // abi::__cxa_demangle, from the program's libstdc++ or one loaded for it.
  char* (*demangle)(const char*, char*, size_t*, int*) = nullptr;
};

AIXMALLOC_COLD constinit Libdw g_libdw{};
pthread_once_t g_libdw_once = PTHREAD_ONCE_INIT;

template <typename F>
bool find(void* handle, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(handle, name));
  return *out != nullptr;
}

void load_libdw() {
  Libdw& d = g_libdw;
  if (!find(RTLD_DEFAULT, "__cxa_demangle", &d.demangle)) {
    if (void* cxx = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL)) find(cxx, "__cxa_demangle", &d.demangle);
  }
  void* h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  d.loaded = find(h, "dwfl_begin", &d.begin) && find(h, "dwfl_end", &d.end) &&
             find(h, "dwfl_report_begin_add", &d.report_begin_add) &&
             find(h, "dwfl_report_elf", &d.report_elf) && find(h, "dwfl_report_end", &d.report_end) &&
             find(h, "dwfl_module_addrinfo", &d.addrinfo) && find(h, "dwfl_module_getsrc", &d.getsrc) &&
             find(h, "dwfl_lineinfo", &d.lineinfo) && find(h, "dwfl_module_build_id", &d.build_id) &&
             find(h, "dwfl_module_getelf", &d.getelf) &&
             find(h, "dwfl_build_id_find_elf", &d.callbacks.find_elf) &&
             find(h, "dwfl_standard_find_debuginfo", &d.callbacks.find_debuginfo) &&
             find(h, "dwfl_offline_section_address", &d.callbacks.section_address);
  d.callbacks.debuginfo_path = nullptr;  // libdwfl's default: beside the file, .debug/, /usr/lib/debug
}

// One libdwfl session per module file; a report names frames of a few dozen modules at most.
constexpr int kModules = 128;
constexpr size_t kPathMax = 1024;

struct OpenModule {
  char path[kPathMax];
  Dwfl* dwfl;
  Dwfl_Module* module;  // nullptr: libdwfl could not read the file
};

struct State {
  int count;
  OpenModule modules[kModules];
};
constexpr size_t kStateBytes = (sizeof(State) + 4095) & ~size_t{4095};

void copy(char* to, size_t size, const char* from) {
  size_t n = strlen(from);
  if (n >= size) {  // keep the end of a long path: the file name is what a reader needs
    from += n - (size - 1);
    n = size - 1;
  }
  memcpy(to, from, n);
  to[n] = '\0';
}

Dwfl_Module* module_of(State* s, const char* file) {
  for (int i = 0; i < s->count; ++i)
    if (strcmp(s->modules[i].path, file) == 0) return s->modules[i].module;
  if (s->count == kModules || strlen(file) >= kPathMax) return nullptr;
  const Libdw& d = g_libdw;
  OpenModule& m = s->modules[s->count++];
  copy(m.path, sizeof(m.path), file);
  m.dwfl = d.begin(&d.callbacks);
  m.module = nullptr;
  if (!m.dwfl) return nullptr;
  d.report_begin_add(m.dwfl);
  m.module = d.report_elf(m.dwfl, file, file, -1, 0, false);
  d.report_end(m.dwfl, nullptr, nullptr);
  if (m.module) {
    GElf_Addr bias;
    d.getelf(m.module, &bias);  // loads the file, so that build_id below knows the id
  }
  return m.module;
}

void demangled(const char* name, char* out, size_t size) {
  int status = -1;
  char* plain = nullptr;
  if (g_libdw.demangle && name[0] == '_' && name[1] == 'Z')
    plain = g_libdw.demangle(name, nullptr, nullptr, &status);
  copy(out, size, status == 0 && plain ? plain : name);
  free(plain);  // __cxa_demangle's buffer comes from malloc
}

// Function, file and line of `offset - 1` (the call) in the module `file`, placed at address 0.
bool name_by_libdw(State* s, const char* file, uintptr_t offset, FrameName* out) {
  const Libdw& d = g_libdw;
  Dwfl_Module* m = module_of(s, file);
  if (!m) return false;
  const GElf_Addr at = offset - 1;
  GElf_Off symbol_offset = 0;
  GElf_Sym sym;
  if (const char* fn = d.addrinfo(m, at, &symbol_offset, &sym, nullptr, nullptr, nullptr)) {
    demangled(fn, out->function, sizeof(out->function));
    out->function_offset = symbol_offset + 1;
  }
  if (Dwfl_Line* line = d.getsrc(m, at)) {
    int number = 0;
    if (const char* src = d.lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr)) {
      copy(out->file, sizeof(out->file), src);
      out->line = number > 0 ? static_cast<unsigned>(number) : 0;
    }
  }
  return true;
}

// The loaded module that holds `pc`, with its build id from its PT_NOTE segments.
struct Search {
  uintptr_t pc;
  bool found;
  ModuleName* module;
};

void build_id_from_notes(const dl_phdr_info* info, ModuleName* m) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    uintptr_t p = info->dlpi_addr + ph.p_vaddr, end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uintptr_t name = p + sizeof(ElfW(Nhdr));
      const uintptr_t desc = name + ((note->n_namesz + 3) & ~uintptr_t{3});
      const uintptr_t next = desc + ((note->n_descsz + 3) & ~uintptr_t{3});
      if (next > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          memcmp(reinterpret_cast<const char*>(name), "GNU", 4) == 0) {
        m->build_id_size = note->n_descsz < sizeof(m->build_id) ? note->n_descsz : sizeof(m->build_id);
        memcpy(m->build_id, reinterpret_cast<const void*>(desc), m->build_id_size);
        return;
      }
      p = next;
    }
  }
}

int find_module(dl_phdr_info* info, size_t, void* arg) {
  auto* search = static_cast<Search*>(arg);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (search->pc - 1 < start || search->pc - 1 - start >= ph.p_memsz) continue;
    ModuleName* m = search->module;
    m->path = info->dlpi_name ? info->dlpi_name : "";
    m->base = info->dlpi_addr;
    build_id_from_notes(info, m);
    search->found = true;
    return 1;
  }
  return 0;
}

}  // namespace

Symbolizer::Symbolizer() {
  pthread_once(&g_libdw_once, load_libdw);
  if (!g_libdw.loaded) return;
  uintptr_t s = os::map(kStateBytes, 4096);
  if (s != 0) state_ = reinterpret_cast<void*>(s);  // mapped memory reads as zeros: count = 0
}

Symbolizer::~Symbolizer() {
  auto* s = static_cast<State*>(state_);
  if (!s) return;
  for (int i = 0; i < s->count; ++i)
    if (s->modules[i].dwfl) g_libdw.end(s->modules[i].dwfl);
  os::release(reinterpret_cast<uintptr_t>(s), kStateBytes);
}

bool Symbolizer::has_debug_library() const { return state_ != nullptr; }

bool Symbolizer::name(uintptr_t pc, FrameName* out) {
  *out = FrameName{};
  if (pc == 0) return false;
  Search search{pc, false, &out->module};
  dl_iterate_phdr(find_module, &search);
  if (!search.found) return false;
  out->offset = pc - out->module.base;
  // The main program's name is "" to the loader; its file is still reachable.
  const char* file = out->module.path[0] ? out->module.path : "/proc/self/exe";
  if (state_ && name_by_libdw(static_cast<State*>(state_), file, out->offset, out) && out->function[0])
    return true;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(pc - 1), &info) != 0 && info.dli_sname) {
    demangled(info.dli_sname, out->function, sizeof(out->function));
    out->function_offset = pc - reinterpret_cast<uintptr_t>(info.dli_saddr);
  }
  return true;
}

bool Symbolizer::name_in_file(const char* path, uintptr_t offset, FrameName* out) {
  *out = FrameName{};
  out->module.path = path;
  out->offset = offset;
  auto* s = static_cast<State*>(state_);
  Dwfl_Module* m = s ? module_of(s, path) : nullptr;
  if (!m) return false;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  int n = g_libdw.build_id(m, &bits, &vaddr);
  if (n > 0) {
    out->module.build_id_size = static_cast<size_t>(n) < sizeof(out->module.build_id) ? n : sizeof(out->module.build_id);
    memcpy(out->module.build_id, bits, out->module.build_id_size);
  }
  if (offset != 0) name_by_libdw(s, path, offset, out);
  return true;
}

}  // namespace aixmalloc::rt
