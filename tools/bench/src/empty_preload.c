/* An empty shared library, preloaded by tools/bench/run's "empty-preload" configuration.
 *
 * Preloading any library costs a process something before its first malloc: the loader opens,
 * maps and relocates one more object, and every symbol the program looks up is looked for in it
 * first. Programs that start many short processes (the git and g++ jobs) pay it in every one.
 * Under this library a workload pays that cost and keeps the C library's malloc, so its row shows
 * the floor that every preloaded allocator (jemalloc, tcmalloc, mimalloc, aixmalloc) starts from. */
int bench_empty_preload_marker = 1;
