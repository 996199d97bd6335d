/* leak_report - how long does aixmalloc take to report 1,000,000 live allocations?
 *
 * Pattern modelled: a long-running program with a large live heap (a cache, an index) whose leaks
 * are asked for while it runs (`aixmalloc leaks --pid`) or at its exit (MALLOCDEBUG=
 * report_allocations). The allocations come from --sites distinct stacks (up to 1024: 32 leaf
 * functions, each called from 32 places) in 8 sizes each, so the report has that many sites and
 * eight times as many records to group.
 *
 * Run under the Malloc Log, with the live-request signal set:
 *
 *   MALLOCDEBUG=log AIXMALLOC_STATS_SIGNAL=USR2 LD_PRELOAD=build/libaixmalloc.so \
 *     build/tools/bench/bench_leak_report [--live N (1000000)] [--sites S (1024)] [--quick]
 *
 * 1. request: the program holds N blocks and asks itself for the leak document (sigqueue with the
 *    value 1, as `aixmalloc leaks --pid` does); the time is that of the call, which returns once
 *    the handler has written the document. The document must count exactly N allocations.
 * 2. exit: the program runs itself again as a child that allocates the same N blocks, tells the
 *    parent through a pipe, and returns from main; the parent times from that moment to the
 *    child's end, with each report (the text of report_allocations, symbolized; the JSON of
 *    AIXMALLOC_LEAKS_JSON; the text with `extended`, a line per allocation) and without any, and
 *    gives the difference. Each report must count exactly N allocations (and, extended, list N).
 *
 *   result: leak_report live=1000000 sites=1024 request_s=0.21 text_s=0.35 json_s=0.30 extended_s=1.9
 *   info: complete=yes ...
 *
 * --only LIST runs only the named reports (request, text, json, extended); --check runs each once
 * and only checks that it is complete (the preload test malloc_log_million_test.sh), timing
 * nothing. The exit status is 1 when a report is incomplete, 2 on a usage or set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;
struct malloc_log;
#pragma weak get_malloc_log_live
struct malloc_log* get_malloc_log_live(void* addr);

static void die(const char* what) {
  fprintf(stderr, "leak_report: %s\n", what);
  exit(2);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- 1024 stacks: leaf j called from place j of mid i ------------------------------------------- */
#define FOR32(X)                                                                                   \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)     \
  X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31)
#define LEAF(j)                                              \
  __attribute__((noinline)) static void* leaf##j(size_t n) { \
    void* p = malloc(n);                                     \
    __asm__ volatile("" : : "r"(p) : "memory");              \
    return p;                                                \
  }
FOR32(LEAF)
#define CASE(j)   \
  case j:         \
    p = leaf##j(n); \
    break;
/* FOR32 again: a macro is not expanded inside its own expansion (MID is expanded by FOR32). */
#define CASES                                                                                     \
  CASE(0) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10)       \
  CASE(11) CASE(12) CASE(13) CASE(14) CASE(15) CASE(16) CASE(17) CASE(18) CASE(19) CASE(20)      \
  CASE(21) CASE(22) CASE(23) CASE(24) CASE(25) CASE(26) CASE(27) CASE(28) CASE(29) CASE(30)      \
  CASE(31)
#define MID(i)                                                          \
  __attribute__((noinline)) static void* mid##i(unsigned j, size_t n) { \
    void* p = NULL;                                                     \
    switch (j) { CASES }                                                \
    __asm__ volatile("" : : "r"(p) : "memory");                         \
    return p;                                                           \
  }
FOR32(MID)
typedef void* (*mid_fn)(unsigned, size_t);
#define ENTRY(i) mid##i,
static const mid_fn kMids[32] = {FOR32(ENTRY)};

/* The N blocks: block k from site k % sites, of size 16 * (1 + (k / sites) % 8), kept in an array
 * that is one more allocation. */
static void** allocate_all(long live, unsigned sites) {
  void** blocks = malloc(sizeof(void*) * (size_t)live);
  if (blocks == NULL) die("no memory for the block array");
  for (long k = 0; k < live; ++k) {
    unsigned s = (unsigned)(k % sites);
    size_t size = 16 * (1 + (size_t)(k / sites) % 8);
    blocks[k] = kMids[s >> 5](s & 31, size);
    if (blocks[k] == NULL) die("malloc returned NULL");
    *(volatile char*)blocks[k] = 1;
  }
  return blocks;
}

/* --- reading the reports --------------------------------------------------------------------- */
static char* read_file(const char* path, size_t* size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return NULL;
  char* buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (buf) buf[got] = '\0';
  *size = got;
  return buf;
}

/* The count of a report: the JSON's "total": {"count": N, or the text's "Total: N allocations". */
static long report_total(const char* text) {
  const char* p = strstr(text, "\"total\": {\"count\": ");
  if (p) return atol(p + strlen("\"total\": {\"count\": "));
  p = strstr(text, "\nTotal: ");
  return p ? atol(p + strlen("\nTotal: ")) : -1;
}

static long count_lines(const char* text, const char* prefix) {
  long n = 0;
  size_t len = strlen(prefix);
  for (const char* p = text; (p = strstr(p, prefix)) != NULL; p += len) ++n;
  return n;
}

/* --- 1. the live request ------------------------------------------------------------------------ */
static int signal_number(const char* name) {
  if (strncmp(name, "SIG", 3) == 0) name += 3;
  if (strcmp(name, "USR1") == 0) return SIGUSR1;
  if (strcmp(name, "USR2") == 0) return SIGUSR2;
  if (strncmp(name, "RTMIN+", 6) == 0) return SIGRTMIN + atoi(name + 6);
  if (strncmp(name, "RTMAX-", 6) == 0) return SIGRTMAX - atoi(name + 6);
  return atoi(name);
}

static double request(long live, long* counted) {
  const char* name = getenv("AIXMALLOC_STATS_SIGNAL");
  if (name == NULL) die("set AIXMALLOC_STATS_SIGNAL (e.g. USR2): the request goes through it");
  char path[2][128];
  snprintf(path[0], sizeof path[0], "/dev/shm/aixmalloc-leaks.%d.json", (int)getpid());
  snprintf(path[1], sizeof path[1], "/tmp/aixmalloc-leaks.%d.json", (int)getpid());
  unlink(path[0]), unlink(path[1]);
  union sigval value = {.sival_int = 1};
  double t0 = now();
  if (sigqueue(getpid(), signal_number(name), value) != 0) die("sigqueue failed");
  double t = now() - t0;
  *counted = -1;
  for (int i = 0; i < 2 && *counted < 0; ++i) {
    size_t size;
    char* doc = read_file(path[i], &size);
    if (doc == NULL) continue;
    *counted = report_total(doc);
    free(doc);
    unlink(path[i]);
  }
  (void)live;
  return t;
}

/* --- 2. at exit: this program again, as a child ------------------------------------------------- */
static double child_exit_time(const char* self, long live, unsigned sites, const char* mallocdebug,
                              const char* leaks_json) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  double t0 = 0;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(fds[0]);
    setenv("MALLOCDEBUG", mallocdebug, 1);
    if (leaks_json) setenv("AIXMALLOC_LEAKS_JSON", leaks_json, 1);
    else unsetenv("AIXMALLOC_LEAKS_JSON");
    unsetenv("AIXMALLOC_STATS_SIGNAL");
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%ld", live);
    snprintf(b, sizeof b, "%u", sites);
    snprintf(c, sizeof c, "%d", fds[1]);
    execl(self, self, "--child", a, b, c, (char*)NULL);
    _exit(127);
  }
  close(fds[1]);
  char byte;
  if (read(fds[0], &byte, 1) == 1) t0 = now();
  int status;
  waitpid(pid, &status, 0);
  double t = now() - t0;
  close(fds[0]);
  if (t0 == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the child failed");
  return t;
}

static int child(long live, unsigned sites, int fd) {
  allocate_all(live, sites);
  if (write(fd, "x", 1) != 1) return 3;
  close(fd);
  return 0;  /* the blocks stay live: the exit report lists them */
}

static double best_of(int reps, const char* self, long live, unsigned sites, const char* md,
                      const char* json) {
  double best = 1e9;
  for (int i = 0; i < reps; ++i) {
    double t = child_exit_time(self, live, sites, md, json);
    if (t < best) best = t;
  }
  return best;
}

static int wanted(const char* only, const char* what) {
  if (only == NULL) return 1;
  size_t n = strlen(what);
  for (const char* p = only; (p = strstr(p, what)) != NULL; p += n)
    if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "--child") == 0)
    return child(atol(argv[2]), (unsigned)atoi(argv[3]), atoi(argv[4]));
  long live = 1000000;
  unsigned sites = 1024;
  int reps = 3, timed = 1;
  const char* only = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--live") == 0 && i + 1 < argc) live = atol(argv[++i]);
    else if (strcmp(argv[i], "--sites") == 0 && i + 1 < argc) sites = (unsigned)atoi(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else if (strcmp(argv[i], "--check") == 0) reps = 1, timed = 0;
    else if (strcmp(argv[i], "--quick") == 0) live = 100000, reps = 1;
    else die("usage: bench_leak_report [--live N] [--sites S (1-1024)] [--reps R] [--quick]\n"
             "       [--only request,text,json,extended] [--check]");
  }
  if (live < 1 || sites < 1 || sites > 1024 || reps < 1) die("bad argument");
  if (&get_malloc_log_live == NULL || get_malloc_log_live(NULL) == NULL)
    die("run with LD_PRELOAD=libaixmalloc.so and MALLOCDEBUG=log");
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) die("/proc/self/exe");
  self[n] = '\0';

  int complete = 1;
  double request_s = -1, text_s = -1, json_s = -1, ext_s = -1, none_s = -1, none_ext_s = -1;
  long counted = -1, totals[3] = {-1, -1, -1}, listed = -1;
  /* 1. the request: N blocks, plus the block array itself. */
  if (wanted(only, "request")) {
    void** blocks = allocate_all(live, sites);
    request_s = request(live, &counted);
    if (counted < live + 1) complete = 0;
    for (long k = 0; k < live; ++k) free(blocks[k]);
    free(blocks);
  }

  /* 2. at exit; --check: the reports alone, not the runs without one to subtract. */
  char text[64], json[64], ext[64], md_text[128], md_ext[128];
  snprintf(text, sizeof text, "/tmp/leak_report.%d.txt", (int)getpid());
  snprintf(json, sizeof json, "/tmp/leak_report.%d.json", (int)getpid());
  snprintf(ext, sizeof ext, "/tmp/leak_report.%d.ext", (int)getpid());
  snprintf(md_text, sizeof md_text, "log,report_allocations,output:%s", text);
  snprintf(md_ext, sizeof md_ext, "log:extended,report_allocations,output:%s", ext);
  const char* kinds[3] = {"text", "json", "extended"};
  const char* files[3] = {text, json, ext};
  unlink(text), unlink(json), unlink(ext);
  if (timed && (wanted(only, "text") || wanted(only, "json")))
    none_s = best_of(reps, self, live, sites, "log", NULL);
  if (timed && wanted(only, "extended")) none_ext_s = best_of(reps, self, live, sites, "log:extended", NULL);
  if (wanted(only, "text")) text_s = best_of(reps, self, live, sites, md_text, NULL) - none_s;
  if (wanted(only, "json")) json_s = best_of(reps, self, live, sites, "log", json) - none_s;
  if (wanted(only, "extended")) ext_s = best_of(reps, self, live, sites, md_ext, NULL) - none_ext_s;
  /* A plain path: the first child wrote it, later ones PATH.PID. Each holds one whole report. */
  for (int i = 0; i < 3; ++i) {
    if (!wanted(only, kinds[i])) continue;
    size_t size;
    char* doc = read_file(files[i], &size);
    totals[i] = doc ? report_total(doc) : -1;
    if (i == 2 && doc) listed = count_lines(doc, "\n    allocation 0x");
    if (totals[i] < live || (i == 2 && listed < live)) complete = 0;
    free(doc);
  }
  char cleanup[256];
  snprintf(cleanup, sizeof cleanup, "rm -f %s* %s* %s*", text, json, ext);
  if (system(cleanup) != 0) { /* leftovers in /tmp only */ }
  if (timed)
    printf("result: leak_report live=%ld sites=%u request_s=%.3f text_s=%.3f json_s=%.3f extended_s=%.3f\n",
           live, sites, request_s, text_s, json_s, ext_s);
  printf("info: complete=%s request_total=%ld text_total=%ld json_total=%ld extended_total=%ld "
         "extended_listed=%ld exit_without_report_s=%.3f\n",
         complete ? "yes" : "no", counted, totals[0], totals[1], totals[2], listed, none_s);
  return complete ? 0 : 1;
}
