// symalg - a computer-algebra-like mix: polynomials with big-integer coefficients.
//
// Pattern modelled: symbolic algebra systems (and, alike in their allocation, logic minimisers and
// theorem provers) that build large numbers of small terms, combine like terms through hash tables
// and drop whole intermediate results. Each round expands (c1 x + c2 y + c3 z + c4 w + c5)^D one
// factor at a time: every product of a term by a factor allocates a new big integer, is merged into
// a hash table of terms (an existing coefficient grows by realloc, the temporary is freed), and the
// table is turned into a sorted array that replaces the previous power, which is freed whole. Then
// the four partial derivatives are taken and summed, and everything is dropped. Blocks: 16-byte
// terms, big integers of 8 B to a few hundred bytes, term arrays and hash tables up to hundreds of
// KiB that grow by doubling.
//
// The checksum hashes every exponent and limb of the results, so a wrong block shows up in it.
//
// Usage: bench_symalg [--iters ROUNDS] [--degree D] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.h"

static const char kUsage[] =
    "usage: bench_symalg [--iters ROUNDS (default 24, quick 3)] [--degree D (18)] [--seed N] [--quick]\n";

namespace {

constexpr int kVars = 4;

// A natural number: n limbs of 32 bits, least significant first; cap limbs allocated.
struct Nat {
  uint32_t n, cap;
  uint32_t limb[1];
};

Nat* nat_new(uint32_t cap) {
  Nat* a = static_cast<Nat*>(bench::xmalloc(sizeof(Nat) + sizeof(uint32_t) * (cap - 1)));
  a->n = 0;
  a->cap = cap;
  return a;
}

Nat* nat_small(uint32_t v) {
  Nat* a = nat_new(1);
  a->n = 1;
  a->limb[0] = v;
  return a;
}

Nat* nat_mul(const Nat* a, const Nat* b) {
  Nat* r = nat_new(a->n + b->n);
  std::memset(r->limb, 0, sizeof(uint32_t) * r->cap);
  for (uint32_t i = 0; i < a->n; ++i) {
    uint64_t carry = 0;
    for (uint32_t j = 0; j < b->n; ++j) {
      uint64_t t = uint64_t{a->limb[i]} * b->limb[j] + r->limb[i + j] + carry;
      r->limb[i + j] = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    r->limb[i + b->n] = static_cast<uint32_t>(carry);
  }
  r->n = a->n + b->n;
  while (r->n > 1 && r->limb[r->n - 1] == 0) --r->n;
  return r;
}

// a += b; a may move (realloc), so the new pointer is returned.
Nat* nat_add(Nat* a, const Nat* b) {
  uint32_t need = (a->n > b->n ? a->n : b->n) + 1;
  if (need > a->cap) {
    a = static_cast<Nat*>(bench::xrealloc(a, sizeof(Nat) + sizeof(uint32_t) * (need - 1)));
    a->cap = need;
  }
  for (uint32_t i = a->n; i < need; ++i) a->limb[i] = 0;
  uint64_t carry = 0;
  for (uint32_t i = 0; i < need; ++i) {
    uint64_t t = uint64_t{a->limb[i]} + (i < b->n ? b->limb[i] : 0) + carry;
    a->limb[i] = static_cast<uint32_t>(t);
    carry = t >> 32;
  }
  a->n = need;
  while (a->n > 1 && a->limb[a->n - 1] == 0) --a->n;
  return a;
}

struct Term {
  uint16_t e[kVars];
  Nat* c;
};

struct Poly {
  Term** t = nullptr;
  size_t n = 0, cap = 0;
};

void poly_push(Poly* p, Term* t) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 4;
    p->t = static_cast<Term**>(bench::xrealloc(p->t, sizeof(Term*) * p->cap));
  }
  p->t[p->n++] = t;
}

void poly_free(Poly* p) {
  for (size_t i = 0; i < p->n; ++i) {
    std::free(p->t[i]->c);
    std::free(p->t[i]);
  }
  std::free(p->t);
  *p = Poly{};
}

uint64_t key_of(const uint16_t* e) {
  uint64_t k = 0;
  for (int v = 0; v < kVars; ++v) k = (k << 16) | e[v];
  return k;
}

// Like terms meet in an open-addressing table that doubles when half full.
struct Table {
  Term** slot = nullptr;
  size_t cap = 0, n = 0;
};

void table_put(Table* tb, const uint16_t* e, Nat* c);

void table_grow(Table* tb) {
  Table old = *tb;
  tb->cap = old.cap ? old.cap * 2 : 64;
  tb->slot = static_cast<Term**>(std::calloc(tb->cap, sizeof(Term*)));
  if (!tb->slot) bench::fail("symalg: calloc returned NULL");
  tb->n = 0;
  for (size_t i = 0; i < old.cap; ++i)
    if (Term* t = old.slot[i]) {
      size_t h = bench::mix64(key_of(t->e)) & (tb->cap - 1);
      while (tb->slot[h]) h = (h + 1) & (tb->cap - 1);
      tb->slot[h] = t;
      ++tb->n;
    }
  std::free(old.slot);
}

// Takes c: either stored in a new term or added into the existing one and freed.
void table_put(Table* tb, const uint16_t* e, Nat* c) {
  if ((tb->n + 1) * 2 > tb->cap) table_grow(tb);
  const uint64_t k = key_of(e);
  size_t h = bench::mix64(k) & (tb->cap - 1);
  while (Term* t = tb->slot[h]) {
    if (key_of(t->e) == k) {
      t->c = nat_add(t->c, c);
      std::free(c);
      return;
    }
    h = (h + 1) & (tb->cap - 1);
  }
  Term* t = static_cast<Term*>(bench::xmalloc(sizeof(Term)));
  std::memcpy(t->e, e, sizeof t->e);
  t->c = c;
  tb->slot[h] = t;
  ++tb->n;
}

int cmp_terms(const void* a, const void* b) {
  uint64_t x = key_of((*static_cast<Term* const*>(a))->e), y = key_of((*static_cast<Term* const*>(b))->e);
  return x < y ? -1 : x > y;
}

// The table's terms as a sorted polynomial; the table is freed.
Poly table_take(Table* tb) {
  Poly p;
  for (size_t i = 0; i < tb->cap; ++i)
    if (tb->slot[i]) poly_push(&p, tb->slot[i]);
  std::free(tb->slot);
  *tb = Table{};
  if (p.n) std::qsort(p.t, p.n, sizeof(Term*), cmp_terms);
  return p;
}

Poly poly_mul(const Poly& a, const Poly& b) {
  Table tb;
  for (size_t i = 0; i < a.n; ++i)
    for (size_t j = 0; j < b.n; ++j) {
      uint16_t e[kVars];
      for (int v = 0; v < kVars; ++v) e[v] = static_cast<uint16_t>(a.t[i]->e[v] + b.t[j]->e[v]);
      table_put(&tb, e, nat_mul(a.t[i]->c, b.t[j]->c));
    }
  return table_take(&tb);
}

Poly poly_derivative(const Poly& a, int var) {
  Table tb;
  for (size_t i = 0; i < a.n; ++i) {
    if (a.t[i]->e[var] == 0) continue;
    uint16_t e[kVars];
    std::memcpy(e, a.t[i]->e, sizeof e);
    Nat* k = nat_small(e[var]);
    --e[var];
    table_put(&tb, e, nat_mul(a.t[i]->c, k));
    std::free(k);
  }
  return table_take(&tb);
}

Poly poly_sum(const Poly* ps, int count) {
  Table tb;
  for (int q = 0; q < count; ++q)
    for (size_t i = 0; i < ps[q].n; ++i) {
      const Nat* c = ps[q].t[i]->c;
      Nat* copy = nat_new(c->n);
      copy->n = c->n;
      std::memcpy(copy->limb, c->limb, sizeof(uint32_t) * c->n);
      table_put(&tb, ps[q].t[i]->e, copy);
    }
  return table_take(&tb);
}

uint64_t poly_hash(const Poly& p, uint64_t h) {
  for (size_t i = 0; i < p.n; ++i) {
    h = bench::mix64(h ^ key_of(p.t[i]->e));
    for (uint32_t l = 0; l < p.t[i]->c->n; ++l) h = bench::mix64(h + p.t[i]->c->limb[l]);
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long rounds = args.get("iters", 24, 3);
  const long degree = args.get("degree", 18, 18);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();
  if (degree < 1 || degree > 40) bench::fail("symalg: --degree must be 1..40");

  bench::Rng rng(seed);
  uint64_t h = 0;
  size_t terms = 0;
  for (long r = 0; r < rounds; ++r) {
    Poly base;
    for (int v = 0; v <= kVars; ++v) {
      Term* t = static_cast<Term*>(bench::xmalloc(sizeof(Term)));
      std::memset(t->e, 0, sizeof t->e);
      if (v < kVars) t->e[v] = 1;
      t->c = nat_small(static_cast<uint32_t>(rng.next() | 1));
      poly_push(&base, t);
    }
    Poly p;
    {
      Term* one = static_cast<Term*>(bench::xmalloc(sizeof(Term)));
      std::memset(one->e, 0, sizeof one->e);
      one->c = nat_small(1);
      poly_push(&p, one);
    }
    for (long k = 1; k <= degree; ++k) {
      Poly next = poly_mul(p, base);
      poly_free(&p);
      p = next;
    }
    Poly d[kVars];
    for (int v = 0; v < kVars; ++v) d[v] = poly_derivative(p, v);
    Poly s = poly_sum(d, kVars);
    h = poly_hash(p, h);
    h = poly_hash(s, h);
    terms += p.n + s.n;
    poly_free(&s);
    for (int v = 0; v < kVars; ++v) poly_free(&d[v]);
    poly_free(&p);
    poly_free(&base);
  }
  std::printf("result: symalg rounds=%ld degree=%ld terms=%zu checksum=%016llx\n", rounds, degree, terms,
              static_cast<unsigned long long>(h));
  return 0;
}
