// The job's figures that IBM's advice turns on, read from the documents of every configuration
// compare ran (each where its layer measures it), and the lines of advice those figures call for.
// The thresholds are aixmalloc's; aixmalloc(1) lists them.
#include "tools/cli/advice.h"

#include <ctype.h>

#include <algorithm>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

namespace {

// IBM's advice, as AIX administrators apply it: the workload, then what it recommends.
constexpr const char* kMultiThreaded[2] = {"multi-threaded",
                                           "multiheap, with about as many heaps as threads that "
                                           "allocate at once"};
constexpr const char* kMostThreaded[2] = {
    "most multi-threaded programs",
    "Watson with multiheap and pool: the pool front end handles the many small requests quickly, "
    "multiheap scales the larger ones"};
constexpr const char* kSmall[2] = {"many allocations and frees of blocks smaller than 513 bytes",
                                   "pool"};
constexpr const char* kFixedSizes[2] = {"many allocations of a few fixed sizes above 512 bytes",
                                        "buckets, with the bucket options sized to those requests"};
constexpr const char* kStaysLarge[2] = {"the process stays large after it frees memory",
                                        "disclaim"};

// Thresholds (aixmalloc(1), compare, "Advice").
constexpr double kContended = 1e-5;        // requests that found a heap locked, for multiheap
constexpr double kMostlySmall = 0.5;       // requests of 512 bytes or less, for pool
constexpr double kFixedAbove = 0.25;       // requests in buckets above 512 bytes, for buckets
constexpr double kFewSizes = 0.8;          // ... of which in at most three buckets
constexpr uint64_t kLargeFree = 16 << 20;  // free heap bytes at exit, for disclaim

using Sizes = std::vector<std::pair<uint64_t, uint64_t>>;

struct Job {
  bool threads_known = false;
  uint64_t threads = 0;
  std::string threads_source;
  bool contention_known = false;
  uint64_t contended = 0, calls = 0;
  std::string contention_source;
  bool small_known = false;
  uint64_t small = 0, requests = 0;
  Sizes classes;  // the pool's, largest count first
  std::string small_source;
  bool buckets_known = false;
  uint64_t above = 0, beyond = 0, bucket_requests = 0, top = 0;
  Sizes above_buckets;  // (lowest size, largest size) of the buckets above 512, largest count first
  std::vector<uint64_t> above_counts;
  std::string buckets_source;
  bool exit_known = false;
  uint64_t free_bytes = 0, in_use = 0;
  std::string exit_source;
};

std::string percent(uint64_t part, uint64_t whole) {
  if (whole == 0 || part == 0) return "0%";
  double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  char buf[32];
  if (part > 0 && p < 0.1)
    snprintf(buf, sizeof(buf), "%.2g%%", p);
  else if (part < whole && p > 99.9)
    snprintf(buf, sizeof(buf), "over 99.9%%");
  else
    snprintf(buf, sizeof(buf), p < 10 ? "%.1f%%" : "%.0f%%", p);
  return buf;
}

double share(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

std::string under(const std::string& figure, const std::string& config) {
  return "(" + figure + " under " + config + ")";
}

void read_threads(const MeasuredConfig& m, Job* job) {
  for (const RunFigures& r : m.runs) {
    std::pair<uint64_t, const char*> seen[] = {
        {r.pool ? r.pool_threads : 0, "pool.thread_pools"},
        {r.heaps > 1 ? r.heaps_used : 0, "heaps that served requests"},
        {r.cache_threads, "threadcache.caches"},
        {r.watson2_threads, "watson2.thread_heaps"}};
    for (const auto& [n, figure] : seen) {
      if (n == 0 || (job->threads_known && n <= job->threads)) continue;
      job->threads_known = true;
      job->threads = n;
      job->threads_source = under(figure, m.name);
    }
  }
}

// Lock contention where the job had one heap (without multiheap); with multiheap only, there.
void read_contention(const std::vector<MeasuredConfig>& all, Job* job) {
  for (bool one_heap : {true, false}) {
    std::string names;
    for (const MeasuredConfig& m : all) {
      bool counted = false;
      for (const RunFigures& r : m.runs) {
        if ((r.heaps == 1) != one_heap || r.heaps == 0) continue;
        job->contended += r.contended;
        job->calls += r.heap_allocs + r.heap_frees + r.heap_reallocs;
        counted = true;
      }
      if (counted) names += (names.empty() ? "" : ", ") + m.name;
    }
    if (!names.empty() && job->calls > 0) {
      job->contention_known = true;
      job->contention_source = under("heaps.lock_contended", names);
      return;
    }
  }
}

// Every request of a run, counted exactly: the buckets count them all; without buckets, the
// heaps, the large blocks and the pool count each once, unless a thread cache (which takes
// blocks from the heaps in batches) or Watson2 (which has its own) serves some.
bool total_requests(const MeasuredConfig& m, uint64_t* total) {
  if (m.runs.empty()) return false;
  const RunFigures& r = m.runs.front();  // request sizes do not change from run to run
  if (r.buckets && r.bucket_total) {
    *total = r.bucket_total;
    return true;
  }
  if (m.config->enabled(OptionId::kThreadcache) || m.config->policy == Policy::kWatson2)
    return false;
  *total = r.heap_allocs + r.large_allocs;
  for (const auto& c : r.pool_classes) *total += c.second;
  return true;
}

void read_sizes(const std::vector<MeasuredConfig>& all, Job* job) {
  uint64_t total = 0;
  bool counted = false;
  for (const MeasuredConfig& m : all)
    if (!counted) counted = total_requests(m, &total);
  for (const MeasuredConfig& m : all) {
    if (m.runs.empty()) continue;
    const RunFigures& r = m.runs.front();
    if (r.pool && !job->small_known && counted && total) {
      job->small_known = true;
      job->classes = r.pool_classes;
      for (const auto& c : r.pool_classes) job->small += c.second;
      job->requests = std::max(total, job->small);
      std::stable_sort(job->classes.begin(), job->classes.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      job->small_source = under("pool.by_class", m.name);
    }
    if (!r.buckets || job->buckets_known || r.bucket_total == 0) continue;
    job->buckets_known = true;
    job->bucket_requests = r.bucket_total;
    job->beyond = r.bucket_default;
    Sizes sorted = r.bucket_sizes;
    std::sort(sorted.begin(), sorted.end());
    uint64_t below = 0, small = 0;
    std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> above;  // count, range
    for (const auto& [largest, n] : sorted) {
      if (largest > 512) {
        job->above += n;
        above.push_back({n, {below + 1, largest}});
      } else {
        small += n;
      }
      below = largest;
      job->top = largest;
    }
    std::stable_sort(above.begin(), above.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& a : above) {
      job->above_buckets.push_back(a.second);
      job->above_counts.push_back(a.first);
    }
    job->buckets_source = under("buckets.by_bucket", m.name);
    if (!job->small_known) {  // the buckets give the small share when no pool measured it
      job->small_known = true;
      job->small = small;
      job->requests = r.bucket_total;
      job->small_source = job->buckets_source;
    }
  }
}

void read_exit(const MeasuredConfig& m, Job* job) {
  if (job->exit_known || m.runs.empty() || m.config->enabled(OptionId::kDisclaim)) return;
  if (m.runs.front().bytes_free + m.runs.front().bytes_in_use == 0)
    return;  // the heaps served none
  job->exit_known = true;
  job->free_bytes = m.runs.front().bytes_free;
  job->in_use = m.runs.front().bytes_in_use;
  job->exit_source = under("totals.bytes_free", m.name);
}

// `text` in lines of at most 100 columns, broken at blanks, the first after `first`, the others
// indented by `indent`.
void wrapped(FILE* out, const std::string& first, const std::string& text, size_t indent) {
  constexpr size_t kWidth = 100;
  std::string line = first;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(at, end - at);
    if (line.size() + word.size() + 1 > kWidth && line.size() > indent) {
      fprintf(out, "%s\n", line.c_str());
      line = std::string(indent, ' ');
    } else if (!line.empty() && line.back() != ' ') {
      line += ' ';
    }
    line += word;
    at = end + 1;
  }
  fprintf(out, "%s\n", line.c_str());
}

void line(FILE* out, const std::string& label, const std::string& text) {
  char head[32];
  snprintf(head, sizeof(head), "  %-17s ", (label + ":").c_str());
  wrapped(out, head, text, 20);
}

void advise(FILE* out, const char* const which[2], const std::string& why, int* count) {
  std::string workload = which[0];
  workload[0] = static_cast<char>(toupper(static_cast<unsigned char>(workload[0])));
  wrapped(out, "  " + workload + ":", std::string(which[1]) + ". Measured: " + why + ".", 4);
  ++*count;
}

}  // namespace

void print_advice(const std::vector<MeasuredConfig>& measured, FILE* out) {
  Job job;
  for (const MeasuredConfig& m : measured) {
    read_threads(m, &job);
    read_exit(m, &job);
  }
  read_sizes(measured, &job);
  read_contention(measured, &job);
  if (!job.threads_known && !job.contention_known && !job.small_known && !job.exit_known) return;

  fputs("\nWhat the runs' statistics show about the job:\n", out);
  std::string threads_text, contention_text, small_text, buckets_text;
  if (job.threads_known) {
    threads_text = std::to_string(job.threads) + (job.threads == 1 ? " thread" : " threads") +
                   " allocated at the same time " + job.threads_source;
    line(out, "threads", threads_text);
  } else {
    line(out, "threads", "not measured (no configuration with pool, multiheap or threadcache)");
  }
  if (job.contention_known) {
    contention_text = with_commas(job.contended) + " of " + with_commas(job.calls) +
                      " heap requests (" + percent(job.contended, job.calls) +
                      ") found the heap locked by another thread " + job.contention_source;
    line(out, "lock contention", contention_text);
  }
  if (job.small_known) {
    small_text = percent(job.small, job.requests) + " of " + with_commas(job.requests) +
                 " requests were of 512 bytes or less";
    if (!job.classes.empty() && job.classes[0].second > 0)
      small_text += ", " + percent(job.classes[0].second, job.requests) + " in the " +
                    std::to_string(job.classes[0].first) + "-byte class";
    small_text += " " + job.small_source;
    line(out, "request sizes", small_text);
  }
  if (job.buckets_known) {
    buckets_text = percent(job.above, job.bucket_requests) +
                   " of the requests were between 513 and " + std::to_string(job.top) + " bytes";
    if (!job.above_buckets.empty() && job.above_counts[0] > 0)
      buckets_text += ", " + percent(job.above_counts[0], job.bucket_requests) + " of " +
                      std::to_string(job.above_buckets[0].first) + " to " +
                      std::to_string(job.above_buckets[0].second) + " bytes";
    buckets_text +=
        "; " + percent(job.beyond, job.bucket_requests) + " were larger " + job.buckets_source;
    line(out, "above 512 bytes", buckets_text);
  }
  if (job.exit_known)
    line(out, "at exit",
         human_bytes(job.free_bytes) + " free in the heaps beside " + human_bytes(job.in_use) +
             " in use " + job.exit_source);

  fputs("IBM's AIX tuning advice that these figures call for:\n", out);
  int count = 0;
  bool threaded = job.threads_known && job.threads > 1 &&
                  (!job.contention_known || share(job.contended, job.calls) >= kContended);
  bool small = job.small_known && share(job.small, job.requests) >= kMostlySmall;
  if (threaded) {
    char heaps[96];
    snprintf(heaps, sizeof(heaps), " (here %sMALLOCOPTIONS=%smultiheap:%u)",
             small ? "MALLOCTYPE=watson " : "", small ? "pool," : "",
             static_cast<unsigned>(std::min<uint64_t>(job.threads, 32)));
    const char* which[2] = {(small ? kMostThreaded : kMultiThreaded)[0], nullptr};
    std::string advice = std::string((small ? kMostThreaded : kMultiThreaded)[1]) + heaps;
    which[1] = advice.c_str();
    std::string why = threads_text;
    if (job.contention_known) why += "; " + contention_text;
    if (small) why += "; " + small_text;
    advise(out, which, why, &count);
  }
  if (small && !threaded) advise(out, kSmall, small_text, &count);
  if (job.buckets_known && share(job.above, job.bucket_requests) >= kFixedAbove) {
    uint64_t few = 0;
    for (size_t i = 0; i < job.above_counts.size() && i < 3; ++i) few += job.above_counts[i];
    if (share(few, job.above) >= kFewSizes) advise(out, kFixedSizes, buckets_text, &count);
  }
  if (job.exit_known && job.free_bytes >= kLargeFree && job.free_bytes >= job.in_use)
    advise(out, kStaysLarge,
           human_bytes(job.free_bytes) + " were free in the heaps at exit beside " +
               human_bytes(job.in_use) + " in use " + job.exit_source,
           &count);
  if (count == 0) fputs("  none: no figure above calls for a change.\n", out);
}

}  // namespace aixmalloc::cli
