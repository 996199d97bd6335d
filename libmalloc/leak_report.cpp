// The reports of live allocations (leak_report.h). gather() walks the log's records once: those
// with live allocations, grouped by stack into sites, largest first (and, under `extended`, every
// live allocation in its site). The text and JSON renderers read the sites and write through a
// buffer they flush as it fills, so no report is cut short. Memory comes from base's OS interface.
#include "libmalloc/leak_report.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <new>
#include <cstring>

#include "libmalloc/assembly.h"
#include "libmalloc/base/debug_output.h"
#include "libmalloc/base/fatal.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/report_output.h"
#include "libmalloc/base/stack_capture.h"
#include "libmalloc/symbolize.h"

namespace aixmalloc::rt {
namespace {

using mlog::LiveEntry;
using mlog::Record;
using mlog::RecordInfo;

// An array in memory of its own, given back when it goes out of scope.
template <class T>
class Mapped {
 public:
  explicit Mapped(size_t n) : bytes_(align_up(n * sizeof(T) + 1, page_size())) {
    p_ = reinterpret_cast<T*>(os::map(bytes_, page_size()));
  }
  ~Mapped() {
    if (p_) os::release(reinterpret_cast<uintptr_t>(p_), bytes_);
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  T* get() const { return p_; }
  T& operator[](size_t i) const { return p_[i]; }

 private:
  size_t bytes_;
  T* p_;
};

struct Site {
  uint64_t count, bytes, min_size, max_size;
  uint32_t record;        // one of its records: the stack
  uint64_t first_entry;   // its live allocations in the entries (extended)
  uint64_t entries;
};

// --- the one walk ---------------------------------------------------------------------------------

struct Gathered {
  explicit Gathered(uint32_t records, uint64_t live)
      : records(records), entry_room(live + 64), order(records + 1), sites(records + 1), site_of(records + 1),
        entries(live + 64) {}
  uint32_t records;     // room for this many (the log may grow during the walk: later ones wait)
  uint64_t entry_room;
  Mapped<uint32_t> order;
  Mapped<Site> sites;
  Mapped<uint32_t> site_of;  // per record
  Mapped<LiveEntry> entries;
  uint32_t site_count = 0;
  uint64_t entry_count = 0;
  uint64_t total_count = 0, total_bytes = 0;
  bool ok() const { return order.get() && sites.get() && site_of.get() && entries.get(); }
};

bool same_stack(mlog::Records& r, uint32_t a, uint32_t b) {
  const RecordInfo &x = r.info(a), &y = r.info(b);
  if (x.stack_hash != y.stack_hash || x.frames != y.frames) return false;
  if (a == mlog::kOverflow || b == mlog::kOverflow) return a == b;
  return memcmp(r.frames(a), r.frames(b), x.frames * sizeof(uintptr_t)) == 0;
}

void gather(Gathered& g, bool with_entries) {
  mlog::Records& r = mlog::records();
  uint32_t n = std::min(r.count(), g.records);
  uint32_t k = 0;
  for (uint32_t i = 0; i <= n; ++i) g.site_of[i] = UINT32_MAX;
  for (uint32_t i = 0; i < n; ++i)
    if (__atomic_load_n(&r.record(i).cnt, __ATOMIC_RELAXED) != 0) g.order[k++] = i;
  if (__atomic_load_n(&r.record(mlog::kOverflow).cnt, __ATOMIC_RELAXED) != 0) g.order[k++] = mlog::kOverflow;
  std::sort(g.order.get(), g.order.get() + k, [&](uint32_t a, uint32_t b) {
    const RecordInfo &x = r.info(a), &y = r.info(b);
    if (x.stack_hash != y.stack_hash) return x.stack_hash < y.stack_hash;
    return a < b;
  });
  for (uint32_t i = 0; i < k; ++i) {
    uint32_t rec = g.order[i];
    const Record& rr = r.record(rec);
    uint64_t cnt = __atomic_load_n(&rr.cnt, __ATOMIC_RELAXED);
    // Records of one stack are next to each other unless two stacks share a hash: then search.
    uint32_t s = g.site_count;
    for (uint32_t j = g.site_count; j-- > 0 && r.info(g.sites[j].record).stack_hash == r.info(rec).stack_hash;)
      if (same_stack(r, g.sites[j].record, rec)) s = j;
    if (s == g.site_count) g.sites[g.site_count++] = Site{0, 0, UINT64_MAX, 0, rec, s, 0};
    g.site_of[std::min(rec, n)] = s;  // the overflow record at n
    Site& site = g.sites[s];
    site.count += cnt;
    site.bytes += cnt * rr.size;
    site.min_size = std::min<uint64_t>(site.min_size, rr.size);
    site.max_size = std::max<uint64_t>(site.max_size, rr.size);
    g.total_count += cnt;
    g.total_bytes += cnt * rr.size;
  }
  std::sort(g.sites.get(), g.sites.get() + g.site_count, [&](const Site& a, const Site& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.count != b.count) return a.count > b.count;
    return a.record < b.record;
  });
  if (!with_entries) return;
  // Every live allocation with its site, sorted by site and then by sequence number. first_entry
  // held each site's place before the sort: order[] (done with) maps it to the sorted place.
  for (uint32_t s = 0; s < g.site_count; ++s) {
    g.order[g.sites[s].first_entry] = s;
    g.sites[s].first_entry = 0;
  }
  for (uint32_t i = 0; i <= n; ++i)
    if (g.site_of[i] != UINT32_MAX) g.site_of[i] = g.order[g.site_of[i]];
  uint64_t cap = g.entry_room;
  mlog::live().for_each([&](const LiveEntry& e) {
    if (g.entry_count < cap && e.record < n && g.site_of[e.record] != UINT32_MAX) g.entries[g.entry_count++] = e;
  });
  std::sort(g.entries.get(), g.entries.get() + g.entry_count, [&](const LiveEntry& a, const LiveEntry& b) {
    uint32_t x = g.site_of[a.record], y = g.site_of[b.record];
    return x != y ? x < y : a.ext.seq < b.ext.seq;
  });
  for (uint64_t i = 0; i < g.entry_count; ++i) {
    Site& s = g.sites[g.site_of[g.entries[i].record]];
    if (s.entries++ == 0) s.first_entry = i;
  }
}

// --- modules, found without a lock -----------------------------------------------------------------

struct Module {
  const void* map_start;
  uintptr_t base;
  char path[512];
  unsigned char build_id[20];
  unsigned build_id_size;
};

// The GNU build id from the module's program headers, read in its own mapped memory.
void read_build_id(const void* map_start, uintptr_t base, Module* m) {
  const auto* eh = static_cast<const ElfW(Ehdr)*>(map_start);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return;
  const auto* ph = reinterpret_cast<const ElfW(Phdr)*>(static_cast<const char*>(map_start) + eh->e_phoff);
  for (unsigned i = 0; i < eh->e_phnum; ++i) {
    if (ph[i].p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(base + ph[i].p_vaddr);
    const char* end = p + ph[i].p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + align_up(note->n_namesz, 4);
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        m->build_id_size = note->n_descsz < sizeof(m->build_id) ? note->n_descsz : sizeof(m->build_id);
        memcpy(m->build_id, desc, m->build_id_size);
        return;
      }
      p = desc + align_up(note->n_descsz, 4);
    }
  }
}

class Modules {
 public:
  static constexpr unsigned kMax = 1024;
  Modules() : table_(kMax) {}
  // The module of pc, by its index; -1 when none holds it.
  int find(uintptr_t pc) {
    dl_find_object fo;
    if (table_.get() == nullptr || _dl_find_object(reinterpret_cast<void*>(pc - 1), &fo) != 0) return -1;
    for (unsigned i = 0; i < count_; ++i)
      if (table_[i].map_start == fo.dlfo_map_start) return static_cast<int>(i);
    if (count_ == kMax) return -1;
    Module& m = table_[count_];
    m.map_start = fo.dlfo_map_start;
    m.base = fo.dlfo_link_map ? fo.dlfo_link_map->l_addr : 0;
    const char* name = fo.dlfo_link_map ? fo.dlfo_link_map->l_name : "";
    if (name == nullptr || name[0] == '\0') {
      os::program_path(m.path, sizeof(m.path));
    } else {
      strncpy(m.path, name, sizeof(m.path) - 1);
    }
    m.build_id_size = 0;
    read_build_id(fo.dlfo_map_start, m.base, &m);
    return static_cast<int>(count_++);
  }
  const Module& operator[](unsigned i) const { return table_[i]; }
  unsigned count() const { return count_; }

 private:
  Mapped<Module> table_;
  unsigned count_ = 0;
};

// --- output ----------------------------------------------------------------------------------------

// A Text over a large buffer, flushed to a descriptor (or the MALLOCDEBUG stream, fd -1) whenever
// less than a line's worst case is left.
class Sink {
 public:
  static constexpr size_t kSize = 256 * 1024, kMargin = 16 * 1024;
  explicit Sink(int fd) : fd_(fd), buf_(kSize), text_(buf_.get(), buf_.get() ? kSize : 0) {}
  ~Sink() { flush(); }
  Text& out() {
    if (text_.size() > kSize - kMargin) flush();
    return text_;
  }
  void flush() {
    if (text_.size() == 0) return;
    if (fd_ < 0) {
      debug::emit(text_.data(), text_.size());
      text_.clear();
    } else {
      text_.flush(fd_);
    }
  }
  bool ok() const { return buf_.get() != nullptr; }

 private:
  int fd_;
  Mapped<char> buf_;
  Text text_;
};

void json_string(Text& t, const char* s) {
  t.ch('"');
  for (; *s; ++s) {
    unsigned char c = static_cast<unsigned char>(*s);
    if (c == '"' || c == '\\') {
      t.ch('\\').ch(static_cast<char>(c));
    } else if (c < 0x20) {
      static const char kDigits[] = "0123456789abcdef";
      t.str("\\u00").ch(kDigits[c >> 4]).ch(kDigits[c & 15]);
    } else {
      t.ch(static_cast<char>(c));
    }
  }
  t.ch('"');
}

void build_id_hex(Text& t, const Module& m) {
  static const char kDigits[] = "0123456789abcdef";
  for (unsigned i = 0; i < m.build_id_size; ++i) t.ch(kDigits[m.build_id[i] >> 4]).ch(kDigits[m.build_id[i] & 15]);
}

// Names of frames, remembered by return address (a site's frames repeat across sites). Without
// symbolizing (the live request, in a signal handler) no Symbolizer is made at all: making one
// loads libdw with dlopen, which takes the loader's lock and allocates.
class Names {
 public:
  static constexpr unsigned kSlots = 1024;
  explicit Names(bool symbolize) : cache_(symbolize ? kSlots : 0) {
    if (symbolize) symbolizer_ = new (storage_) Symbolizer;
  }
  ~Names() {
    if (symbolizer_) symbolizer_->~Symbolizer();
  }
  Names(const Names&) = delete;
  Names& operator=(const Names&) = delete;
  // nullptr when not symbolizing or the symbolizer knows nothing of pc.
  const FrameName* name(uintptr_t pc) {
    if (symbolizer_ == nullptr || cache_.get() == nullptr) return nullptr;
    Entry& e = cache_[(pc * 0x9e3779b97f4a7c15u) >> 54];
    if (e.pc != pc) {
      e.pc = pc;
      e.known = symbolizer_->name(pc, &e.name);
    }
    return e.known ? &e.name : nullptr;
  }

 private:
  struct Entry {
    uintptr_t pc;
    bool known;
    FrameName name;
  };
  Mapped<Entry> cache_;
  alignas(Symbolizer) unsigned char storage_[sizeof(Symbolizer)];
  Symbolizer* symbolizer_ = nullptr;
};

// --- the text report -------------------------------------------------------------------------------

void frame_line(Text& t, uintptr_t pc, Names& names, Modules& modules) {
  t.str("        ").hex(pc);
  if (const FrameName* f = names.name(pc); f && f->function[0]) {
    t.str("  ").str(f->function);
    if (f->function_offset) t.ch('+').hex(f->function_offset);
    if (f->file[0]) t.str(" (").str(f->file).ch(':').num(f->line).ch(')');
  }
  int m = modules.find(pc);
  if (m >= 0) t.str("  ").str(modules[m].path).ch('+').hex(pc - modules[m].base);
  t.ch('\n');
}

void render_text(Gathered& g, Sink& sink, Names& names, Modules& modules, const char* program, bool extended) {
  mlog::Records& r = mlog::records();
  sink.out().str("Live allocations of process ").num(static_cast<uint64_t>(os::process_id())).str(" (")
      .str(program).str(") at exit, by allocation site, largest first:\n");
  for (uint32_t s = 0; s < g.site_count; ++s) {
    const Site& site = g.sites[s];
    Text& t = sink.out();
    t.str("Site ").num(s + 1).str(": ").num(site.count).str(site.count == 1 ? " allocation, " : " allocations, ")
        .num(site.bytes).str(" bytes");
    if (site.min_size == site.max_size) {
      t.str(", size ").num(site.min_size);
    } else {
      t.str(", sizes ").num(site.min_size).str(" to ").num(site.max_size);
    }
    const RecordInfo& in = r.info(site.record);
    if (site.record == mlog::kOverflow) t.str(" (the log's records were full: no stack)");
    if (in.truncated) t.str(" (stack truncated)");
    t.str("\n    Allocation traceback:\n");
    const uintptr_t* frames = r.frames(site.record);
    for (unsigned i = 0; frames && i < in.frames; ++i) frame_line(sink.out(), frames[i], names, modules);
    for (uint64_t i = 0; extended && i < site.entries; ++i) {
      const LiveEntry& e = g.entries[site.first_entry + i];
      sink.out().str("    allocation ").hex(e.address).str(" size ").num(r.record(e.record).size).str(" pid ")
          .num(e.ext.pid).str(" thread ").num(e.ext.tid).str(" seq ").num(e.ext.seq).str(" time ")
          .num(e.ext.time_ns / 1000000000u).ch('.');
      TextBuf<16> ns;
      ns.num(e.ext.time_ns % 1000000000u);
      for (size_t z = ns.size(); z < 9; ++z) sink.out().ch('0');
      sink.out().str(ns.data(), ns.size()).ch('\n');
    }
  }
  sink.out().str("Total: ").num(g.total_count).str(g.total_count == 1 ? " allocation, " : " allocations, ")
      .num(g.total_bytes).str(" bytes, ").num(g.site_count).str(g.site_count == 1 ? " site\n" : " sites\n");
}

// --- the JSON document -----------------------------------------------------------------------------

void render_json(Gathered* g, Sink& sink, Names& names, Modules& modules, const char* program, LeakWhen when) {
  bool on = mlog::g_on && g != nullptr;
  // Modules first: every frame's module is found before the document names them.
  for (uint32_t s = 0; on && s < g->site_count; ++s) {
    const RecordInfo& in = mlog::records().info(g->sites[s].record);
    const uintptr_t* frames = mlog::records().frames(g->sites[s].record);
    for (unsigned i = 0; frames && i < in.frames; ++i) modules.find(frames[i]);
  }
  Text& t = sink.out();
  t.str("{\"format\": \"aixmalloc-leaks\", \"version\": 1, \"pid\": ").num(static_cast<uint64_t>(os::process_id()))
      .str(", \"ppid\": ").num(static_cast<uint64_t>(os::parent_process_id())).str(", \"program\": ");
  json_string(t, program);
  t.str(", \"when\": ").str(when == LeakWhen::kExit ? "\"exit\"" : "\"request\"").str(", \"time_ns\": ")
      .num(os::realtime_ns()).str(", \"stack_depth\": ").num(on ? mlog::depth() : 0)
      .str(", \"extended\": ").str(on && mlog::extended() ? "true" : "false");
  if (!on) t.str(", \"log\": \"off\"");
  t.str(",\n\"modules\": [");
  for (unsigned i = 0; i < modules.count(); ++i) {
    Text& m = sink.out();
    m.str(i ? ",\n  " : "\n  ").str("{\"id\": ").num(i).str(", \"path\": ");
    json_string(m, modules[i].path);
    m.str(", \"base\": \"").hex(modules[i].base).str("\", \"build_id\": \"");
    build_id_hex(m, modules[i]);
    m.str("\"}");
  }
  sink.out().str("],\n\"sites\": [");
  mlog::Records* r = on ? &mlog::records() : nullptr;
  for (uint32_t s = 0; on && s < g->site_count; ++s) {
    const Site& site = g->sites[s];
    sink.out().str(s ? ",\n  " : "\n  ").str("{\"count\": ").num(site.count).str(", \"bytes\": ").num(site.bytes)
        .str(", \"min_size\": ").num(site.min_size).str(", \"max_size\": ").num(site.max_size).str(", \"frames\": [");
    const RecordInfo& in = r->info(site.record);
    const uintptr_t* frames = r->frames(site.record);
    for (unsigned i = 0; frames && i < in.frames; ++i) {
      Text& f = sink.out();
      uintptr_t pc = frames[i];
      int m = modules.find(pc);
      f.str(i ? ", " : "").str("{\"pc\": \"").hex(pc).ch('"');
      if (m >= 0) f.str(", \"module\": ").num(static_cast<unsigned>(m)).str(", \"offset\": \"").hex(pc - modules[m].base).ch('"');
      if (const FrameName* n = names.name(pc)) {
        if (n->function[0]) f.str(", \"function\": "), json_string(f, n->function);
        if (n->file[0]) f.str(", \"file\": "), json_string(f, n->file), f.str(", \"line\": ").num(n->line);
      }
      f.ch('}');
    }
    sink.out().ch(']');
    if (mlog::extended() && site.entries) {
      sink.out().str(", \"allocations\": [");
      for (uint64_t i = 0; i < site.entries; ++i) {
        const LiveEntry& e = g->entries[site.first_entry + i];
        sink.out().str(i ? ", " : "").str("{\"address\": \"").hex(e.address).str("\", \"size\": ")
            .num(r->record(e.record).size).str(", \"pid\": ").num(e.ext.pid).str(", \"tid\": ").num(e.ext.tid)
            .str(", \"seq\": ").num(e.ext.seq).str(", \"time_ns\": ").num(e.ext.time_ns).ch('}');
      }
      sink.out().ch(']');
    }
    sink.out().ch('}');
  }
  sink.out().str("],\n\"total\": {\"count\": ").num(on ? g->total_count : 0).str(", \"bytes\": ")
      .num(on ? g->total_bytes : 0).str(", \"sites\": ").num(on ? g->site_count : 0).str("}}\n");
}

}  // namespace

namespace {
// Every process exits through the test of leak_reports_at_exit; few write the reports, whose code
// stays out of the pages the others have resident.
[[gnu::noinline, gnu::cold]] void write_leak_reports_at_exit(bool text, bool json) {
  stack::t_busy = true;  // what the report allocates (the symbolizer) is not logged
  bool extended = mlog::extended();
  mlog::refresh_counts();  // first: the walk may make records, which the room below counts
  Gathered g(mlog::records().count(), extended ? mlog::live().live() : 0);
  if (!g.ok()) {
    static const char kNoRoom[] = "MALLOCDEBUG: report_allocations: no memory for the report";
    warn(kNoRoom, sizeof(kNoRoom) - 1);
    return;
  }
  gather(g, extended);
  char program[512];
  os::program_path(program, sizeof(program));
  Names names(true);
  Modules modules;
  if (text) {  // on the MALLOCDEBUG stream
    Sink sink(-1);
    render_text(g, sink, names, modules, program, extended);
  }
  int fd = json ? report::descriptor(report::Report::kLeaksJson) : -1;
  if (fd >= 0) {
    Sink sink(fd);
    render_json(&g, sink, names, modules, program, LeakWhen::kExit);
  }
}
}  // namespace

void leak_reports_at_exit() {
  bool text = g_config.enabled(OptionId::kReportAllocations);
  bool json = g_config.leaks_json.kind != Destination::kNone;
  if (mlog::g_on && (text || json)) write_leak_reports_at_exit(text, json);
}

bool leak_reports_wanted() { return mlog::g_on; }

void write_leak_document_on_request(int fd) {
  char program[512];
  os::program_path(program, sizeof(program));
  Names names(false);
  Modules modules;
  Sink sink(fd);
  if (!mlog::g_on) {
    render_json(nullptr, sink, names, modules, program, LeakWhen::kRequest);
    return;
  }
  bool extended = mlog::extended();
  mlog::refresh_counts();  // first: the walk may make records, which the room below counts
  Gathered g(mlog::records().count(), extended ? mlog::live().live() : 0);
  if (!g.ok()) return;
  gather(g, extended);
  render_json(&g, sink, names, modules, program, LeakWhen::kRequest);
}

}  // namespace aixmalloc::rt
