// fork() while other threads are inside stdio: one thread calls fflush(NULL) in a loop (it holds
// libc's list of streams and waits for each stream's lock), others read long lines with getline()
// (they hold their stream's lock and allocate: the line buffer grows past 4 KiB, so it reaches a
// heap's lock under every configuration) and open and close streams (the list lock again, around
// allocations). The main thread forks FORKS times; each child allocates, writes to a stream and
// _exit()s. An allocator whose fork preparation takes its own locks before libc takes the list
// lock deadlocks here: the forking thread holds the allocator and waits for the list, the
// fflush(NULL) thread holds the list and waits for a stream, the getline() thread holds that
// stream and waits for the allocator. Arguments: forks, a scratch directory.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 300;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  alarm(300);  // the ctest time-out and `timeout` catch a hang first; this is the last resort
  std::string lines = dir + "/lines.txt";
  {
    FILE* f = fopen(lines.c_str(), "w");
    if (f == nullptr) {
      perror("fopen");
      return 2;
    }
    for (int i = 0; i < 16; ++i) {
      std::string line(4500 + static_cast<size_t>(i) * 700, static_cast<char>('a' + i));
      fprintf(f, "%s\n", line.c_str());
    }
    fclose(f);
  }
  std::atomic<bool> stop{false};
  std::atomic<long> flushes{0}, reads{0}, opens{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      fflush(nullptr);
      // A pause now and then: the list lock is not fair, and on a small machine the forking thread
      // and its children need the processor too.
      if (flushes.fetch_add(1, std::memory_order_relaxed) % 16 == 15) usleep(100);
    }
  });
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      FILE* f = fopen(lines.c_str(), "r");
      if (f == nullptr) return;
      while (!stop.load(std::memory_order_relaxed)) {
        char* line = nullptr;  // a fresh buffer each time: getline() allocates under the stream's lock
        size_t cap = 0;
        if (getline(&line, &cap, f) < 0) rewind(f);
        free(line);
        if (reads.fetch_add(1, std::memory_order_relaxed) % 64 == 63) usleep(100);
      }
      fclose(f);
    });
  }
  threads.emplace_back([&] {
    std::string path = dir + "/scratch.txt";
    while (!stop.load(std::memory_order_relaxed)) {
      FILE* f = fopen(path.c_str(), "w");  // links the stream into the list, allocating
      if (f == nullptr) continue;
      setvbuf(f, nullptr, _IOFBF, 8192);
      fprintf(f, "%ld\n", opens.load());
      fclose(f);
      if (opens.fetch_add(1, std::memory_order_relaxed) % 16 == 15) usleep(100);
    }
  });

  int failures = 0;
  std::string out = dir + "/child.txt";
  for (int i = 0; i < forks; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      ++failures;
      break;
    }
    if (pid == 0) {
      int bad = 0;
      std::vector<void*> blocks;
      for (size_t size : {24u, 300u, 2000u, 9000u, 100000u, 5000000u}) {
        void* p = malloc(size);
        if (p == nullptr) ++bad;
        else memset(p, 1, size < 4096 ? size : 4096);
        blocks.push_back(p);
      }
      for (void* p : blocks) free(p);
      FILE* f = fopen(out.c_str(), "w");  // stdio works in the child too
      if (f == nullptr || fprintf(f, "child %d\n", i) < 0 || fclose(f) != 0) ++bad;
      _exit(bad ? 1 : 0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "child %d failed: status %d\n", i, status);
      ++failures;
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  printf("forks=%d failures=%d\n", forks, failures);
  fprintf(stderr, "info: flushes=%ld reads=%ld opens=%ld\n", flushes.load(), reads.load(), opens.load());
  return failures ? 1 : 0;
}
