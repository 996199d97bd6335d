/* What a fork costs in page faults: the parent's (its writes after the fork to pages it now shares
 * with the child) and the child's, which allocates, frees and exits at once, as a child that
 * execs does. The allocator's fork handlers write to every page that holds one of its locks, in
 * both processes; each such page is a copy-on-write fault in each (aixmalloc(7), "Fork").
 *
 * main allocates blocks of many sizes (with "threaded" as argv[2], on a second thread too, which
 * it joins: the process has had two threads, and the allocator takes its locks at fork), forks
 * once to settle, then forks N times (argv[1]) and prints "faults_per_fork=F" (minor faults of
 * the parent and its children, per fork, one decimal).
 *
 * With "start" as argv[2], it starts N processes instead, each this program again (argv[2]
 * "child": one malloc and free), and prints "faults_per_start=F": the page faults of a process
 * from its exec to its exit, the library's start-up included when it is preloaded. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long faults(int who) {
  struct rusage u;
  getrusage(who, &u);
  return u.ru_minflt;
}

static int fork_once(void) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    free(malloc(100));
    _exit(0);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return 0;
}

static void* allocate_some(void* arg) {
  (void)arg;
  for (int i = 0; i < 1000; ++i) free(malloc((size_t)16 << (i % 12)));
  return NULL;
}

static int start_once(const char* self) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execl(self, self, "1", "child", (char*)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return 0;
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200;
  if (n <= 0) return 2;
  if (argc > 2 && strcmp(argv[2], "child") == 0) {
    free(malloc(100));
    return 0;
  }
  if (argc > 2 && strcmp(argv[2], "start") == 0) {
    if (start_once(argv[0]) != 0) return 1;
    long children = faults(RUSAGE_CHILDREN);
    for (int i = 0; i < n; ++i)
      if (start_once(argv[0]) != 0) return 1;
    printf("faults_per_start=%.1f\n", (double)(faults(RUSAGE_CHILDREN) - children) / n);
    return 0;
  }
  if (argc > 2 && strcmp(argv[2], "threaded") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, allocate_some, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  }
  void* held[64];
  for (int i = 0; i < 64; ++i) held[i] = malloc((size_t)16 << (i % 12));
  if (fork_once() != 0) return 1;
  long self = faults(RUSAGE_SELF), children = faults(RUSAGE_CHILDREN);
  for (int i = 0; i < n; ++i)
    if (fork_once() != 0) return 1;
  long total = faults(RUSAGE_SELF) - self + faults(RUSAGE_CHILDREN) - children;
  for (int i = 0; i < 64; ++i) free(held[i]);
  printf("faults_per_fork=%.1f\n", (double)total / n);
  return 0;
}
