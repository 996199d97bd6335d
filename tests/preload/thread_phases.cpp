// Threads created and destroyed in phases (1 to 4 at a time) replace blocks of 1-16 KiB in a shared
// table, so most blocks are freed by another thread than the one that allocated them, often one that
// has exited. Prints the most bytes ever live and the process's peak RSS, for thread_phases_test.sh.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

std::atomic<long> g_live{0}, g_max_live{0};

void note_live(long delta) {
  long v = g_live.fetch_add(delta) + delta;
  long m = g_max_live.load();
  while (v > m && !g_max_live.compare_exchange_weak(m, v)) {
  }
}

long peak_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmHWM:", 6) == 0) v = std::strtol(line + 6, nullptr, 10);
  if (f) std::fclose(f);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const int phases = argc > 1 ? std::atoi(argv[1]) : 40;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 20000;
  constexpr int kSlots = 1024;
  std::atomic<char*> slots[kSlots] = {};
  for (int ph = 0; ph < phases; ++ph) {
    const int n = 1 + (ph * 3) % 4;  // 1, 4, 3, 2, 1, ...
    std::vector<std::thread> workers;
    for (int t = 0; t < n; ++t)
      workers.emplace_back([&, ph, t] {
        unsigned long x = 0x9E3779B97F4A7C15ull * static_cast<unsigned long>(ph * 8 + t + 1);
        for (int i = 0; i < steps / n; ++i) {
          x ^= x << 13, x ^= x >> 7, x ^= x << 17;
          const size_t size = size_t{1024} << (x % 5) | (x >> 8) % 1024;  // 1 KiB .. 17 KiB
          char* p = static_cast<char*>(std::malloc(size));
          if (p == nullptr) std::abort();
          std::memset(p, static_cast<int>(size), size);
          std::memcpy(p, &size, sizeof size);
          note_live(static_cast<long>(size));
          char* old = slots[(x >> 20) % kSlots].exchange(p);
          if (old) {
            size_t s;
            std::memcpy(&s, old, sizeof s);
            if (static_cast<unsigned char>(old[s - 1]) != static_cast<unsigned char>(s)) std::abort();
            note_live(-static_cast<long>(s));
            std::free(old);
          }
        }
      });
    for (auto& w : workers) w.join();
  }
  std::printf("max_live_kib=%ld peak_rss_kib=%ld\n", g_max_live.load() / 1024, peak_rss_kib());
  for (auto& s : slots) std::free(s.load());
  return 0;
}
