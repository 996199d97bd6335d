// The statistics every layer reports, generated from the one table (statistics.def): a struct of
// figures per section, Statistics holding them all, the descriptions (keys, labels, units) of each
// figure, and the one walk over them that every renderer and the CLI's readers share. In base, so
// a layer fills its own section without knowing any other.
//
//   Statistics   heap[kMaxHeaps] (heaps filled)   totals (has_totals)   large (has_large)
//                pool (has_pool)   pool_class[kPoolClasses] (pool_classes)   watson2 (has_watson2)
//                cache (has_cache)
//                buckets (has_buckets)   bucket[kMaxBuckets] (bucket_rows)
//                bucket_heap[kMaxHeaps] (bucket_heaps)   detect (has_detect)
//   HeapFigures, ProcessFigures, ...   one uint64_t per figure of the section
#pragma once

#include <cstddef>
#include <cstdint>

#include "libmalloc/base/platform.h"
#include "libmalloc/base/text_table.h"

namespace aixmalloc {

inline constexpr unsigned kMaxBuckets = 128;  // number_of_buckets' largest value
inline constexpr unsigned kPoolClasses = 16;  // the pool's size classes

enum class Unit : uint8_t { kBytes, kCount, kIndex, kHolder, kAddress };
enum class FigureOrigin : uint8_t { kAix, kOwn };

enum class SectionId : uint8_t {
#define AIXMALLOC_SECTION(id, ...) k##id,
#include "libmalloc/base/statistics.def"
  kNone,
};
inline constexpr size_t kSectionCount = static_cast<size_t>(SectionId::kNone);

// The X-macro expansions are laid out by hand.
// clang-format off

// HeapFigures, ProcessFigures, LargeFigures, PoolFigures, ...: one uint64_t per figure.
#define AIXMALLOC_SECTION(id, ...) struct id##Figures {
#define AIXMALLOC_FIGURE(id, field, ...) uint64_t field = 0;
#define AIXMALLOC_END_SECTION(id) };
#include "libmalloc/base/statistics.def"

namespace detail {
template <class T, unsigned N>
struct RowsOf {
  using type = T[N];
};
template <class T>
struct RowsOf<T, 1> {
  using type = T;
};
}  // namespace detail

// Every figure of one moment. A section's count says how many of its rows are filled; a section
// whose count is 0 (a layer that is off) is in no report.
struct Statistics {
#define AIXMALLOC_SECTION(id, parent, member, rows, count, json, title) \
  detail::RowsOf<id##Figures, rows>::type member{};                     \
  unsigned count = 0;
#include "libmalloc/base/statistics.def"
};

// The keys and labels of the figures, then the JSON keys and titles of the sections, one after
// another (text_table.h): the tables below hold their offsets, not pointers.
namespace detail {
inline constexpr char kStatisticsText[] =
#define AIXMALLOC_FIGURE(id, field, key, label, unit, origin) key "\0" label "\0"
#include "libmalloc/base/statistics.def"
#define AIXMALLOC_SECTION(id, parent, member, rows, count, json, title) json "\0" title "\0"
#include "libmalloc/base/statistics.def"
    ;
enum class FigureSlot : uint16_t {
#define AIXMALLOC_FIGURE(id, field, ...) id##_##field,
#include "libmalloc/base/statistics.def"
  kCount
};
inline constexpr size_t kTextFigures = static_cast<size_t>(FigureSlot::kCount);
inline constexpr auto kStatisticsAt =
    text_offsets<2 * (kTextFigures + kSectionCount)>(kStatisticsText);
static_assert(kStatisticsAt.found == 2 * (kTextFigures + kSectionCount));
constexpr uint16_t figure_text(FigureSlot f, unsigned which) {
  return kStatisticsAt.at[2 * static_cast<size_t>(f) + which];
}
constexpr uint16_t section_text(SectionId s, unsigned which) {
  return kStatisticsAt.at[2 * (kTextFigures + static_cast<size_t>(s)) + which];
}
}  // namespace detail

struct FigureInfo {
  SectionId section;
  Unit unit;
  FigureOrigin origin;
  uint16_t key_at, label_at;  // in detail::kStatisticsText
  uint32_t offset;            // of the field in its section's struct
  constexpr const char* key() const { return detail::kStatisticsText + key_at; }
  constexpr const char* label() const { return detail::kStatisticsText + label_at; }
};

inline constexpr FigureInfo kFigures[] = {
#define AIXMALLOC_FIGURE(id, field, key, label, unit, origin)                                 \
  {SectionId::k##id, Unit::unit, FigureOrigin::origin,                                        \
   detail::figure_text(detail::FigureSlot::id##_##field, 0),                                  \
   detail::figure_text(detail::FigureSlot::id##_##field, 1), offsetof(id##Figures, field)},
#include "libmalloc/base/statistics.def"
};
inline constexpr size_t kFigureCount = sizeof(kFigures) / sizeof(kFigures[0]);
static_assert(kFigureCount == detail::kTextFigures);

namespace detail {
constexpr uint16_t first_figure(SectionId s) {
  uint16_t i = 0;
  while (i < kFigureCount && kFigures[i].section != s) ++i;
  return i;
}
constexpr uint16_t figure_count(SectionId s) {
  uint16_t n = 0;
  for (const FigureInfo& f : kFigures) n += f.section == s;
  return n;
}
}  // namespace detail

// A section's figures, for range-for.
struct FigureRange {
  const FigureInfo* first;
  const FigureInfo* last;
  constexpr const FigureInfo* begin() const { return first; }
  constexpr const FigureInfo* end() const { return last; }
};

struct SectionInfo {
  SectionId id, parent;
  uint16_t json_at, title_at;  // in detail::kStatisticsText
  unsigned rows;          // 1: one object; more: an array of up to this many
  uint32_t offset;        // of its member in Statistics
  uint32_t stride;        // sizeof its struct
  uint32_t count_offset;  // of its count in Statistics
  uint16_t first, count;  // its figures: kFigures[first, first + count)
  constexpr const char* json() const { return detail::kStatisticsText + json_at; }
  constexpr const char* title() const { return detail::kStatisticsText + title_at; }
  constexpr bool repeated() const { return rows > 1; }
  constexpr bool nested() const { return parent != SectionId::kNone; }
  constexpr FigureRange figures() const { return {kFigures + first, kFigures + first + count}; }
};

inline constexpr SectionInfo kSections[] = {
#define AIXMALLOC_SECTION(id, parent, member, rows, count, json, title)                        \
  {SectionId::k##id, SectionId::k##parent, detail::section_text(SectionId::k##id, 0),          \
   detail::section_text(SectionId::k##id, 1), rows, offsetof(Statistics, member),              \
   sizeof(id##Figures), offsetof(Statistics, count), detail::first_figure(SectionId::k##id),   \
   detail::figure_count(SectionId::k##id)},
#include "libmalloc/base/statistics.def"
};

// clang-format on

constexpr const SectionInfo& section(SectionId id) {
  return kSections[static_cast<size_t>(id)];
}

// The figure a struct's field is, checked at compile time: figure_of(&HeapFigures::acquired).key().
template <class S>
struct SectionOf;
// clang-format off
#define AIXMALLOC_SECTION(id, ...)                     \
  template <>                                          \
  struct SectionOf<id##Figures> {                      \
    using S = id##Figures;                             \
    static constexpr SectionId kId = SectionId::k##id; \
    static constexpr uint64_t S::*kFields[] = {
#define AIXMALLOC_FIGURE(id, field, ...) &S::field,
#define AIXMALLOC_END_SECTION(id) }; };
#include "libmalloc/base/statistics.def"
// clang-format on

template <class S>
constexpr const FigureInfo& figure_of(uint64_t S::*field) {
  size_t i = 0;
  while (SectionOf<S>::kFields[i] != field) ++i;
  return kFigures[section(SectionOf<S>::kId).first + i];
}
template <class S>
constexpr const char* key_of(uint64_t S::*field) {
  return figure_of(field).key();
}

// The figures of a Statistics, by description.
inline unsigned rows_in(const Statistics& s, const SectionInfo& sec) {
  return *reinterpret_cast<const unsigned*>(reinterpret_cast<const char*>(&s) + sec.count_offset);
}
inline uint64_t value_in(const Statistics& s, const SectionInfo& sec, unsigned row,
                         const FigureInfo& f) {
  const char* at =
      reinterpret_cast<const char*>(&s) + sec.offset + size_t{row} * sec.stride + f.offset;
  return *reinterpret_cast<const uint64_t*>(at);
}

// A Statistics as the source of a walk.
struct StatisticsSource {
  const Statistics& s;
  unsigned rows(const SectionInfo& sec) const { return rows_in(s, sec); }
  bool value(const SectionInfo& sec, unsigned row, const FigureInfo& f, uint64_t* v) const {
    *v = value_in(s, sec, row, f);
    return true;
  }
};

// The one walk: every section the source has, in the table's order, a nested section inside its
// parent's object after the parent's figures. `in` answers rows(section) and value(section, row,
// figure, &v) (false: the source lacks it); `out` receives
//   list(section) ... end_list(section)     around the rows of a repeated section
//   row(section, r) ... end_row(section, r) around one object (r = 0 for a section of one)
//   figure(section, figure, value)
template <class Out, class In>
void walk_section(Out& out, const In& in, const SectionInfo& s) {
  unsigned n = in.rows(s);
  if (n == 0) return;
  if (n > s.rows) n = s.rows;
  if (s.repeated()) out.list(s);
  for (unsigned r = 0; r < n; ++r) {
    out.row(s, r);
    for (const FigureInfo& f : s.figures()) {
      uint64_t v;
      if (in.value(s, r, f, &v)) out.figure(s, f, v);
    }
    for (const SectionInfo& child : kSections)
      if (child.parent == s.id) walk_section(out, in, child);
    out.end_row(s, r);
  }
  if (s.repeated()) out.end_list(s);
}
template <class Out, class In>
void walk(Out& out, const In& in) {
  for (const SectionInfo& s : kSections)
    if (!s.nested()) walk_section(out, in, s);
}

// The walk as JSON, through a writer with begin_object(key), begin_array(key), number(key, v),
// end_object() and end_array() (key nullptr inside an array): the library's and the CLI's.
template <class Writer>
struct JsonSections {
  Writer& w;
  void list(const SectionInfo& s) { w.begin_array(s.json()); }
  void end_list(const SectionInfo&) { w.end_array(); }
  void row(const SectionInfo& s, unsigned) { w.begin_object(s.repeated() ? nullptr : s.json()); }
  void end_row(const SectionInfo&, unsigned) { w.end_object(); }
  void figure(const SectionInfo&, const FigureInfo& f, uint64_t v) { w.number(f.key(), v); }
};

// What the renderers rely on, checked when this header is compiled.
namespace detail {
constexpr bool same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}
constexpr size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}
constexpr bool table_is_sound() {
  for (const SectionInfo& s : kSections) {
    if (s.count == 0 || s.first + s.count > kFigureCount) return false;
    // A section's figures are together, so FigureRange covers them all.
    for (uint16_t i = s.first; i < s.first + s.count; ++i)
      if (kFigures[i].section != s.id) return false;
    // A nested section follows its parent, which is one object.
    if (s.nested() && (s.parent >= s.id || section(s.parent).repeated())) return false;
    bool own_seen = false;
    for (const FigureInfo& f : s.figures()) {
      // AIX's figures first, in AIX's order; aixmalloc's after them.
      if (f.origin == FigureOrigin::kOwn) own_seen = true;
      if (f.origin == FigureOrigin::kAix && own_seen) return false;
      // The row's number only first, in a repeated section.
      if (f.unit == Unit::kIndex && (&f != s.figures().begin() || !s.repeated())) return false;
      // Readers find a figure by its key and by its label within its section.
      for (const FigureInfo& g : s.figures())
        if (&g != &f && (same(f.key(), g.key()) || same(f.label(), g.label()))) return false;
      // dbx's column: a label and at least two dots before column 49.
      if (!s.nested() && length(f.label()) > 31) return false;
    }
  }
  return true;
}
}  // namespace detail
static_assert(detail::table_is_sound(), "statistics.def breaks a rule its renderers rely on");

}  // namespace aixmalloc
