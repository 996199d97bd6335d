// Fork while other threads allocate: the allocator's atfork handlers must leave every heap usable in
// the child (no lock held by a thread that does not exist there). The child allocates, frees and
// exits, half of the children also exec a program; the parent checks every exit status. An alarm
// turns a deadlock into a failure instead of a hang.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int forks = argc > 1 ? atoi(argv[1]) : 200;
  alarm(120);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&stop, t] {
      std::vector<void*> held(64, nullptr);
      unsigned x = 12345u + static_cast<unsigned>(t);
      while (!stop.load(std::memory_order_relaxed)) {
        x = x * 1103515245u + 12345u;
        size_t slot = x % held.size();
        free(held[slot]);
        size_t size = (x >> 8) % (x % 50 == 0 ? 200000 : 2000) + 1;
        held[slot] = malloc(size);
        memset(held[slot], t, size);
      }
      for (void* p : held) free(p);
    });
  }
  int failures = 0;
  for (int i = 0; i < forks; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      std::vector<char*> blocks;
      for (int j = 0; j < 200; ++j) {
        blocks.push_back(static_cast<char*>(malloc(static_cast<size_t>(j) * 97 + 1)));
        blocks.back()[0] = 1;
      }
      for (char* b : blocks) free(b);
      if (i % 2 == 0) {
        execl("/bin/true", "true", static_cast<char*>(nullptr));
        _exit(3);
      }
      _exit(0);
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
  return failures ? 1 : 0;
}
