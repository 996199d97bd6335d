// AIXMALLOC_STATS_SIGNAL end to end, inside one preloaded process (run by live_stats_test.sh with
// the variable set to the signal given as argv[1]):
//   1. idle: the main thread raises the signal; the document is there when raise() returns, with
//      this process's pid and at least the bytes it holds;
//   2. busy: worker threads allocate and free without pause (most of their time under a heap's
//      lock, where the answer is deferred until the lock is released) while the main thread sends
//      the signal to them REQUESTS times; every request gets a new, whole document within 5 s;
//   3. every block the workers and the main thread hold still has its pattern.
// Prints "live requests=N answered=N corrupt=0" and exits 0 when all of that holds.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string document_path() {
  struct stat st;
  const char* dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK | X_OK) == 0
                        ? "/dev/shm"
                        : "/tmp";
  return std::string(dir) + "/aixmalloc-stats." + std::to_string(getpid()) + ".json";
}

ino_t inode_of(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string read_file(const std::string& path) {
  std::string text;
  if (FILE* f = fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    fclose(f);
  }
  return text;
}

// Sum of every "key": number in the document.
uint64_t sum_of(const std::string& doc, const std::string& key) {
  uint64_t sum = 0;
  std::string needle = "\"" + key + "\":";
  for (size_t at = doc.find(needle); at != std::string::npos; at = doc.find(needle, at + 1)) {
    size_t p = at + needle.size();
    while (p < doc.size() && doc[p] == ' ') ++p;
    sum += strtoull(doc.c_str() + p, nullptr, 10);
  }
  return sum;
}

// A figure of the "totals" object: what the program holds in all, watson2's small blocks
// included (the heaps' bytes_held count only the blocks of the heaps).
uint64_t total_of(const std::string& doc, const std::string& key) {
  size_t at = doc.find("\"totals\":");
  if (at == std::string::npos) return 0;
  size_t end = doc.find('}', at);
  std::string needle = "\"" + key + "\":";
  size_t k = doc.find(needle, at);
  if (k == std::string::npos || k > end) return 0;
  size_t p = k + needle.size();
  while (p < doc.size() && doc[p] == ' ') ++p;
  return strtoull(doc.c_str() + p, nullptr, 10);
}

bool whole(const std::string& doc) {
  std::string pid = "\"pid\": " + std::to_string(getpid());
  std::string pid_tight = "\"pid\":" + std::to_string(getpid());
  return doc.size() > 2 && doc.front() == '{' && doc.compare(doc.size() - 2, 2, "}\n") == 0 &&
         doc.find("\"schema\"") != std::string::npos &&
         (doc.find(pid) != std::string::npos || doc.find(pid_tight) != std::string::npos);
}

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Waits for a document newer than `before`; false after 5 s.
bool await_answer(const std::string& path, ino_t before, std::string* doc) {
  for (double until = now() + 5; now() < until;) {
    ino_t ino = inode_of(path);
    if (ino != 0 && ino != before) {
      *doc = read_file(path);
      return true;
    }
    usleep(200);
  }
  return false;
}

std::atomic<bool> stop{false};
std::atomic<int> corrupt{0};

void worker(unsigned seed) {
  struct Held {
    unsigned char* p;
    size_t size;
    unsigned char tag;
  };
  std::vector<Held> held(256, Held{nullptr, 0, 0});
  while (!stop.load(std::memory_order_relaxed)) {
    seed = seed * 1103515245u + 12345u;
    Held& h = held[(seed >> 8) % held.size()];
    if (h.p) {
      for (size_t i = 0; i < h.size; i += 61)
        if (h.p[i] != h.tag) corrupt = 1;
      free(h.p);
    }
    h.size = 1 + (seed >> 4) % ((seed & 1) ? 300 : 20000);
    h.tag = static_cast<unsigned char>(seed >> 24);
    h.p = static_cast<unsigned char*>(malloc(h.size));
    memset(h.p, h.tag, h.size);
  }
  for (Held& h : held) {
    if (h.p && h.p[h.size - 1] != h.tag) corrupt = 1;
    free(h.p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: live_stats SIGNUM REQUESTS\n");
    return 2;
  }
  int sig = atoi(argv[1]);
  int requests = atoi(argv[2]);
  std::string path = document_path();
  unlink(path.c_str());

  // 1. Idle: answered before raise() returns.
  std::vector<char*> mine;
  for (int i = 0; i < 1000; ++i) {
    mine.push_back(static_cast<char*>(malloc(1000)));
    memset(mine.back(), i & 0xff, 1000);
  }
  raise(sig);
  std::string doc = read_file(path);
  if (!whole(doc)) {
    fprintf(stderr, "no whole document at %s after raise(): [%s]\n", path.c_str(), doc.c_str());
    return 1;
  }
  // The totals count every part; the heaps hold the blocks unless watson2's pages do (blocks of
  // 16 KiB or less under MALLOCTYPE=watson2).
  uint64_t in_use = total_of(doc, "bytes_in_use"), held = sum_of(doc, "bytes_held");
  bool in_heaps = doc.find("\"policy\":\"watson2\"") == std::string::npos &&
                  doc.find("\"policy\": \"watson2\"") == std::string::npos;
  if (in_use < 1000 * 1000 || (in_heaps && held < 1000 * 1000)) {
    fprintf(stderr, "the document's totals hold %llu bytes in use and its heaps %llu bytes_held, "
            "the program holds 1000000\n", static_cast<unsigned long long>(in_use),
            static_cast<unsigned long long>(held));
    return 1;
  }

  // 2. Busy.
  constexpr unsigned kWorkers = 4;
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < kWorkers; ++w) workers.emplace_back(worker, 7919u * (w + 1));
  usleep(20000);
  int answered = 0;
  for (int r = 0; r < requests; ++r) {
    ino_t before = inode_of(path);
    pthread_kill(workers[static_cast<size_t>(r) % kWorkers].native_handle(), sig);
    if (!await_answer(path, before, &doc)) {
      fprintf(stderr, "request %d: no answer within 5 s\n", r);
      break;
    }
    if (!whole(doc)) {
      fprintf(stderr, "request %d: not a whole document: [%s]\n", r, doc.c_str());
      break;
    }
    ++answered;
  }
  stop = true;
  for (auto& t : workers) t.join();

  // 3. Nothing was disturbed.
  for (int i = 0; i < 1000; ++i) {
    if (static_cast<unsigned char>(mine[static_cast<size_t>(i)][999]) != (i & 0xff)) corrupt = 1;
    free(mine[static_cast<size_t>(i)]);
  }
  unlink(path.c_str());
  printf("live requests=%d answered=%d corrupt=%d\n", requests, answered, corrupt.load());
  return answered == requests && corrupt == 0 ? 0 : 1;
}
