// The reports that gather every layer's figures: AIX's bucket statistics summary and the JSON
// document of every statistic, both from the table of figures (base/statistics.def).
#include "libmalloc/reports.h"

#include "aixmalloc_version.h"
#include "libmalloc/base/os.h"
#include "libmalloc/base/platform.h"

namespace aixmalloc {

namespace {

void flush_if_full(Text& out, int fd) {
  if (out.size() > 3000) out.flush(fd);
}

// A JSON writer over Text: keys are plain ASCII, numbers unsigned, strings from our own tables.
// Its calls are those of the CLI's writer, so the table's walk (JsonSections) drives both.
class Json {
 public:
  Json(Text& out, int fd) : out_(out), fd_(fd) {}
  Json& begin_object(const char* key = nullptr) { return open_container(key, '{'); }
  Json& begin_array(const char* key = nullptr) { return open_container(key, '['); }
  Json& end_object() { return close_container('}'); }
  Json& end_array() { return close_container(']'); }
  Json& number(const char* key, uint64_t v) {
    item(key);
    out_.num(v);
    return *this;
  }
  Json& string(const char* key, const char* v) {
    item(key);
    out_.ch('"').str(v).ch('"');
    return *this;
  }
  Json& boolean(const char* key, bool v) {
    item(key);
    out_.str(v ? "true" : "false");
    return *this;
  }

 private:
  void item(const char* key) {
    if (!first_) out_.ch(',');
    first_ = false;
    if (key) out_.ch('"').str(key).str("\":");
  }
  Json& open_container(const char* key, char brace) {
    item(key);
    out_.ch(brace);
    first_ = true;
    return *this;
  }
  Json& close_container(char brace) {
    out_.ch(brace);
    first_ = false;
    flush_if_full(out_, fd_);
    return *this;
  }
  Text& out_;
  int fd_;
  bool first_ = true;
};

// One of the summary's tables: AIX's title and column headings, then a row of numbers each.
void bucket_table(const Statistics& s, SectionId id, const char* const (&headings)[3], Text& out,
                  int fd) {
  const SectionInfo& table = section(id);
  out.str(table.title()).ch('\n');
  for (const char* h : headings) out.str(h).ch('\n');
  for (unsigned r = 0; r < rows_in(s, table); ++r) {
    unsigned width = 5;
    for (const FigureInfo& f : table.figures()) {
      out.num(value_in(s, table, r, f), width);
      width = 13;
    }
    out.ch('\n');
    flush_if_full(out, fd);
  }
}

}  // namespace

void render_buckets(const Statistics& s, Text& out, int fd) {
  out.str("==================================\n");
  out.str("Malloc buckets statistical summary\n");
  out.str("==================================\n");
  const SectionInfo& summary = section(SectionId::kBuckets);
  for (const FigureInfo& f : summary.figures()) {
    // AIX heads the tuning values and the request counts each with a line of its own.
    if (&f == &figure_of(&BucketsFigures::count)) out.str("Configuration values:\n");
    if (&f == &figure_of(&BucketsFigures::in_buckets)) out.str("Allocation request totals:\n");
    out.str("  ").str(f.label()).ch(':').pad_to(28).num(value_in(s, summary, 0, f)).ch('\n');
  }
  bucket_table(s, SectionId::kBucketSize,
               {"Bucket  Maximum     Number of", "Number  Block Size  Allocations",
                "-----   ----------  -----------"},
               out, fd);
  bucket_table(s, SectionId::kBucketHeap,
               {"Heap    Buckets      Default", "Number  Allocator    Allocator",
                "-----   -----------  -----------"},
               out, fd);
  out.flush(fd);
}

void render_json(const Snapshot& s, Text& out, int fd) {
  const Config& c = *s.config;
  Json j(out, fd);
  j.begin_object();
  j.string("schema", "aixmalloc-stats")
      .number("schema_version", 1)
      .string("library_version", AIXMALLOC_VERSION);
  j.number("pid", static_cast<uint64_t>(os::process_id()));
  j.string("policy", spec(c.policy).spelling());
  j.begin_object("options");
  for (size_t i = 0; i < kOptionCount; ++i) {
    const OptionValue& v = c.options[i];
    ArgKind arg = kOptions[i].arg;
    // On or off for an option whose value is not one number (debug_range, functionset, log); a
    // number for one that has it, false when off (pool, fill).
    if (arg == kFlag || arg == kOff || arg == kDest || arg == kRange || arg == kNames ||
        arg == kWord) {
      j.boolean(kOptions[i].name(), v.on);
    } else if ((arg == kOptNumber || arg == kPattern) && !v.on) {
      j.boolean(kOptions[i].name(), false);
    } else {
      j.number(kOptions[i].name(), v.number);
    }
  }
  j.end_object();
  JsonSections<Json> sections{j};
  walk(sections, StatisticsSource{s});
  j.end_object();
  out.ch('\n').flush(fd);
}

}  // namespace aixmalloc
