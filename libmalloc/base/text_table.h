// The strings of a table generated from an X-macro (statistics.def, options.def), laid end to end in
// one array and found by their offsets. A table of pointers to strings is one the loader writes in
// every process as it relocates the library: two such tables made the library's relro two pages,
// each a page fault at start-up. A table of offsets lies in .rodata as the compiler wrote it.
//
//   inline constexpr char kText[] = "first" "\0" "second" "\0" ...;    (AIXMALLOC_..(..) s "\0")
//   inline constexpr auto kAt = text_offsets<2>(kText);   kText + kAt.at[1] is "second"
#pragma once

#include <cstddef>
#include <cstdint>

namespace aixmalloc {

template <size_t N>
struct TextOffsets {
  uint16_t at[N];
  size_t found;  // strings in the text: N when the table and its X-macro agree
};

// The offset of each of the first N strings of `text`, each ended by its '\0' (the last string's
// is the one before the literal's own).
template <size_t N, size_t M>
constexpr TextOffsets<N> text_offsets(const char (&text)[M]) {
  static_assert(M <= UINT16_MAX, "offsets are 16 bits");
  TextOffsets<N> o{};
  size_t start = 0;
  for (size_t i = 0; i + 1 < M; ++i) {
    if (text[i] != '\0') continue;
    if (o.found < N) o.at[o.found] = static_cast<uint16_t>(start);
    ++o.found;
    start = i + 1;
  }
  return o;
}

}  // namespace aixmalloc
