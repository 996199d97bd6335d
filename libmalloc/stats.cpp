// The status report of AIXMALLOC_STATS, walked from the table of figures (base/statistics.def), and
// glibc's malloc_stats and malloc_info from the same snapshot.
#include "libmalloc/stats.h"

#include <cstring>

namespace aixmalloc {

namespace {

// dbx's layout: headings at 8 columns, figures at 16, the dots of a label up to column 49.
constexpr const char* kHeadingIndent = "        ";
constexpr const char* kFigureIndent = "                ";
constexpr size_t kDotsTo = 49;

void flush_if_full(Text& out, int fd) {
  if (out.size() > 3000) out.flush(fd);
}

// The heaps the report leaves out, one bit each: every figure of theirs is 0, in the heaps'
// section and in the buckets' split by heap (the heaps multiheap never handed to a thread). Heap
// 0 is always shown.
uint64_t unused_heaps(const Statistics& s) {
  const SectionInfo& heaps = section(SectionId::kHeap);
  const SectionInfo& split = section(SectionId::kBucketHeap);
  uint64_t unused = 0;
  for (unsigned r = 1; r < rows_in(s, heaps) && r < 64; ++r) {
    bool zero = true;
    for (const FigureInfo& f : heaps.figures())
      if (f.unit != Unit::kIndex && value_in(s, heaps, r, f) != 0) zero = false;
    if (r < rows_in(s, split))
      for (const FigureInfo& f : split.figures())
        if (f.unit != Unit::kIndex && value_in(s, split, r, f) != 0) zero = false;
    if (zero) unused |= uint64_t{1} << r;
  }
  return unused;
}

// "1-4, 6, 8-31": the heaps of a set.
void heap_ranges(uint64_t set, Text& out) {
  bool first = true;
  for (unsigned r = 0; r < 64; ++r) {
    if (!(set >> r & 1)) continue;
    unsigned last = r;
    while (last + 1 < 64 && (set >> (last + 1) & 1)) ++last;
    out.str(first ? "" : ", ").num(r);
    if (last > r) out.ch('-').num(last);
    first = false;
    r = last;
  }
}

// A table's column: its heading right-aligned, two blanks before the widest cell.
size_t column_width(const FigureInfo& f) {
  size_t n = strlen(f.label());
  return (n < 10 ? 10 : n) + 2;
}

// The body of the report as the walk visits it: a heading per section ("Heap 3", "The Process
// Heap", "Large blocks", ...) over its dotted lines, and a nested section as a table under its
// title. A repeated section's heading carries the row's number, which is its index figure. The
// heaps never used are left out of the heaps' section and of the buckets' split by heap; one
// line after each names them (`aixmalloc stats` reads it back as rows of zeros):
//         Heaps never used (every figure 0): 1-31
class StatusText {
 public:
  StatusText(Text& out, int fd, uint64_t unused) : out_(out), fd_(fd), unused_(unused) {}

  void list(const SectionInfo& s) {
    if (!s.nested()) return;
    out_.str(kFigureIndent).str(s.title()).ch('\n').str(kFigureIndent);
    for (const FigureInfo& f : s.figures()) {
      for (size_t i = strlen(f.label()); i < column_width(f); ++i) out_.ch(' ');
      out_.str(f.label());
    }
    out_.ch('\n');
  }
  void end_list(const SectionInfo& s) {
    if (!by_heap(s) || unused_ == 0) return;
    out_.str(s.nested() ? kFigureIndent : kHeadingIndent).str(kUnusedHeaps).ch(' ');
    heap_ranges(unused_, out_);
    out_.ch('\n');
  }

  void row(const SectionInfo& s, unsigned r) {
    muted_ = by_heap(s) && r < 64 && (unused_ >> r & 1);
    if (muted_) return;
    if (s.nested()) {
      out_.str(kFigureIndent);
      return;
    }
    out_.str(kHeadingIndent).str(s.title());
    if (s.repeated()) out_.ch(' ').num(r);
    out_.ch('\n');
  }
  void end_row(const SectionInfo& s, unsigned) {
    if (muted_) {
      muted_ = false;
      return;
    }
    if (s.nested()) out_.ch('\n');
    flush_if_full(out_, fd_);
  }

  void figure(const SectionInfo& s, const FigureInfo& f, uint64_t v) {
    if (muted_) return;
    if (s.nested()) {
      out_.num(v, static_cast<unsigned>(column_width(f)));
      return;
    }
    if (f.unit == Unit::kIndex) return;  // in the heading
    out_.str(kFigureIndent).str(f.label()).str("..").pad_to(kDotsTo, '.').ch(' ');
    if (f.unit == Unit::kHolder) {
      out_.str(v ? "another thread" : "(not held)");
    } else if (f.unit == Unit::kAddress) {
      out_.hex(v);
    } else {
      out_.num(v);
    }
    out_.ch('\n');
  }

 private:
  static bool by_heap(const SectionInfo& s) {
    return s.id == SectionId::kHeap || s.id == SectionId::kBucketHeap;
  }
  Text& out_;
  int fd_;
  uint64_t unused_;     // the heaps left out
  bool muted_ = false;  // inside a row left out
};

}  // namespace

void render_status(const Snapshot& s, Text& out, int fd) {
  const Config& c = *s.config;
  // Every line's value in one column, the figures' (dbx puts its option lines' values 9 columns left).
  auto label = [&](const char* name) { out.str(kHeadingIndent).str(name).str("..").pad_to(kDotsTo, '.').ch(' '); };
  out.str("The following options are enabled:\n");
  label("Implementation Algorithm");
  switch (c.policy) {
    case Policy::kYorktown:
      out.str("Default Allocator (Yorktown)");
      break;
    case Policy::kWatson:
      out.str("Watson Allocator");
      break;
    case Policy::kV31:
    case Policy::kV31_64:
      out.str("3.1 Allocator (").str(spec(c.policy).spelling()).ch(')');
      break;
    default:
      out.str(spec(c.policy).spelling());
      break;
  }
  out.ch('\n');
  for (size_t i = 0; i < kOptionCount; ++i) {
    if (!c.options[i].on) continue;
    label(kOptions[i].name());
    bool numbered = kOptions[i].arg == kOptNumber || kOptions[i].arg == kNumber;
    if (numbered && c.options[i].number != 0) {
      out.num(c.options[i].number);
    } else {
      out.str("on");  // pool without a cap too
    }
    if (c.options[i].origin == Origin::kDefault) out.str(" (default for this policy)");
    out.ch('\n');
  }
  out.str("Statistical Report on the Malloc Subsystem:\n");
  StatusText text(out, fd, unused_heaps(s));
  walk(text, StatisticsSource{s});
  out.flush(fd);
}

void render_malloc_stats(const Snapshot& s, Text& out, int fd) {
  auto line = [&](const char* label, uint64_t v) {
    out.str(label).pad_to(17).str("= ").num(v, 10).ch('\n');
  };
  uint64_t system = 0, in_use = 0;
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapFigures& h = s.heap[i];
    out.str("Arena ").num(h.index).str(":\n");
    line("system bytes", h.acquired);
    line("in use bytes", h.held);
    system += h.acquired;
    in_use += h.held;
    flush_if_full(out, fd);
  }
  out.str("Total (incl. mmap):\n");
  line("system bytes", system + s.large.bytes);
  line("in use bytes", in_use + s.large.bytes);
  line("max mmap regions", s.large.max_blocks);
  line("max mmap bytes", s.large.max_bytes);
  out.flush(fd);
}

void render_malloc_info(const Snapshot& s, Text& out) {
  auto total = [&](const char* type, uint64_t count, uint64_t size) {
    out.str("<total type=\"").str(type).str("\" count=\"").num(count).str("\" size=\"").num(size)
        .str("\"/>\n");
  };
  auto system = [&](const char* tag, const char* type, uint64_t size) {
    out.ch('<').str(tag).str(" type=\"").str(type).str("\" size=\"").num(size).str("\"/>\n");
  };
  out.str("<malloc version=\"1\">\n");
  for (unsigned i = 0; i < s.heaps; ++i) {
    const HeapFigures& h = s.heap[i];
    out.str("<heap nr=\"").num(h.index).str("\">\n<sizes>\n</sizes>\n");
    total("fast", 0, 0);
    total("rest", h.free_blocks, h.free_bytes);
    system("system", "current", h.acquired);
    system("system", "max", h.acquired);
    system("aspace", "total", h.acquired);
    system("aspace", "mprotect", h.acquired);
    out.str("</heap>\n");
  }
  uint64_t blocks = 0;
  for (unsigned i = 0; i < s.heaps; ++i) blocks += s.heap[i].free_blocks;
  total("fast", 0, 0);
  total("rest", blocks, s.totals.free_bytes);
  total("mmap", s.large.blocks, s.large.bytes);
  system("system", "current", s.totals.acquired);
  system("system", "max", s.totals.acquired);
  system("aspace", "total", s.totals.acquired);
  system("aspace", "mprotect", s.totals.acquired);
  out.str("</malloc>\n");
}

}  // namespace aixmalloc
