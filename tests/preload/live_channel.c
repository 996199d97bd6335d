/* A program that knows nothing of aixmalloc's live channel, for live_channel_test.sh: started
 * preloaded without any variable, it must answer `aixmalloc stats --pid`, and whatever it does
 * with its signals must go as it would without aixmalloc. Usage: live_channel MODE FIFO [SIG].
 * It holds 1000 blocks of 48 bytes (hold_blocks, the leak report's site), checks what sigaction()
 * shows it, does what MODE says, writes "ready N" on standard output, then reads FIFO (a read that
 * SA_RESTART restarts) one line at a time until end of file, and exits 0 when all held.
 *   plain           every signal from SIGRTMAX-8 to SIGRTMAX shows SIG_DFL (exit 10 if not).
 *                   Command "dfl SIG": signal(SIG, SIG_DFL) must return SIG_DFL (exit 11).
 *   sigaction SIG   installs its own handler for SIG with sigaction() and raises SIG: the handler
 *                   must run and sigaction() must show it (exit 13). Command "count": writes
 *                   "count N", the times the handler ran.
 *   signal SIG      the same with signal().
 *   all             sigset()'s own handler on every signal from SIGRTMAX-8 to SIGRTMAX-1; at the
 *                   end exits 14 if one of them ever ran.
 *   block           blocks every real-time signal, then starts a thread that waits too; at the
 *                   end exits 12 if a signal is pending (one was sent although every thread
 *                   blocked it).
 *   fork            forks once after holding: the child holds 500 blocks of 64 bytes more and
 *                   writes "child PID"; both wait for end of file. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void* held[2000];
static int n_held;
static volatile sig_atomic_t handled;

static void on_signal(int sig) {
  (void)sig;
  handled = handled + 1;
}

static void say(const char* line) {
  if (write(STDOUT_FILENO, line, strlen(line)) < 0) _exit(4);
}

static void say_number(const char* what, long n) {
  char line[64];
  snprintf(line, sizeof line, "%s %ld\n", what, n);
  say(line);
}

__attribute__((noinline)) void hold_blocks(int count, size_t size) {
  for (int i = 0; i < count && n_held < 2000; ++i) {
    char* p = malloc(size);
    if (!p) _exit(5);
    memset(p, 1, size);
    held[n_held++] = p;
  }
}

static void* waiter(void* arg) {
  pause();  /* never woken: every signal it could take is blocked */
  return arg;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const char* mode = argv[1];
  int sig = argc > 3 ? atoi(argv[3]) : 0;
  hold_blocks(1000, 48);
  struct sigaction sa;
  int ready = 0;
  if (strcmp(mode, "plain") == 0) {
    for (int s = SIGRTMAX - 8; s <= SIGRTMAX; ++s)
      if (sigaction(s, NULL, &sa) != 0 || sa.sa_handler != SIG_DFL) return 10;
  } else if (strcmp(mode, "sigaction") == 0 || strcmp(mode, "signal") == 0) {
    if (strcmp(mode, "sigaction") == 0) {
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_signal;
      sa.sa_flags = SA_RESTART;  /* its read of FIFO goes on after its own signal */
      sigemptyset(&sa.sa_mask);
      if (sigaction(sig, &sa, NULL) != 0) return 13;
    } else if (signal(sig, on_signal) == SIG_ERR) {
      return 13;
    }
    raise(sig);
    if (handled != 1 || sigaction(sig, NULL, &sa) != 0 || sa.sa_handler != on_signal) return 13;
  } else if (strcmp(mode, "all") == 0) {
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    for (int s = SIGRTMAX - 8; s < SIGRTMAX; ++s)
      if (sigset(s, on_signal) == SIG_ERR) return 14;
  } else if (strcmp(mode, "block") == 0) {
    sigset_t rt;
    sigemptyset(&rt);
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) sigaddset(&rt, s);
    pthread_t t;
    if (pthread_sigmask(SIG_BLOCK, &rt, NULL) != 0 || pthread_create(&t, NULL, waiter, NULL) != 0)
      return 12;
  } else if (strcmp(mode, "fork") == 0) {
    pid_t child = fork();
    if (child < 0) return 15;
    if (child == 0) {
      hold_blocks(500, 64);
      say_number("child", (long)getpid());
    }
  }
  say_number("ready", ++ready);
  FILE* in = fopen(argv[2], "r");
  if (!in) return 3;
  char line[128];
  while (fgets(line, sizeof line, in)) {
    if (strncmp(line, "dfl ", 4) == 0) {
      if (signal(atoi(line + 4), SIG_DFL) != SIG_DFL) return 11;
    } else if (strcmp(line, "count\n") == 0) {
      say_number("count", (long)handled);
    }
    say_number("ready", ++ready);
  }
  fclose(in);
  if (strcmp(mode, "all") == 0 && handled != 0) return 14;
  if (strcmp(mode, "block") == 0) {
    sigset_t pending;
    sigpending(&pending);
    for (int s = SIGRTMIN; s <= SIGRTMAX; ++s)
      if (sigismember(&pending, s)) return 12;
  }
  for (int i = 0; i < n_held; ++i) free(held[i]);
  if (strcmp(mode, "fork") == 0) while (wait(NULL) > 0) {}
  return 0;
}
