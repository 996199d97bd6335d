// Names for the return addresses that the Malloc Log records: the module (path, load address, GNU
// build id) and, where it can be had, the function, source file and line. Used by the reports of
// live allocations, at exit or on request, never on a malloc path and never under an allocator lock.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc::rt {

struct ModuleName {
  const char* path = "";      // as the loader knows it ("" for the main program: see program_path)
  uintptr_t base = 0;         // load bias: offset = pc - base
  unsigned char build_id[20]; // NT_GNU_BUILD_ID from the loaded program headers
  size_t build_id_size = 0;   // 0: the module has none
};

struct FrameName {
  ModuleName module;
  uintptr_t offset = 0;          // pc - module.base
  char function[256] = {};       // "" when unknown
  uintptr_t function_offset = 0; // pc - the function's start, when function is known
  char file[256] = {};           // "" without debug information
  unsigned line = 0;
};

// One symbolizer per report. Call from a thread that holds no allocator lock: it takes the loader's
// lock (dladdr, dl_iterate_phdr) and may load a debug-information library that allocates.
class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // `pc` is a return address, as recorded; the name is looked up at pc - 1 (the call). False when
  // no module contains pc.
  bool name(uintptr_t pc, FrameName* out);

  // The same for a module file on this machine (the CLI, naming the frames of a leak report):
  // `offset` is a return address minus the module's load bias; 0 asks for the build id only.
  // Fills module.build_id from the file (the caller compares it with the recorded one) and
  // module.path = path. False when the file cannot be read or no debug library is loaded.
  bool name_in_file(const char* path, uintptr_t offset, FrameName* out);

  // True when libdw.so.1 (elfutils) was loaded: function, file and line; else dladdr's names only.
  bool has_debug_library() const;

 private:
  [[maybe_unused]] void* state_ = nullptr;  // for the forms that read debug information
};

}  // namespace aixmalloc::rt
