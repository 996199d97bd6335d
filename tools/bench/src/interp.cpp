// interp - an interpreter-like allocation mix: boxed values, strings, lists, dicts and frames.
//
// Pattern modelled: a dynamic-language interpreter run with its own small-object allocator off
// (as python under PYTHONMALLOC=malloc, ruby's strings, arrays and hashes, a Lisp or Tcl): every
// value is a reference-counted heap object. Integers are 16-byte boxes, strings carry their bytes
// inline (17 B to a few hundred), lists keep an array of pointers that grows by about 1/8 plus a
// little each time it fills, dicts keep an open-addressing table rebuilt when two thirds full, and
// each function call allocates a frame of about 400 bytes. The "program" mixes string building,
// splitting and joining, list comprehensions, recursive calls and updates to a module-level dict
// that keeps some values alive for long (up to --globals entries), so short-lived temporaries
// interleave with long-lived objects, as in a real script.
//
// The checksum is a hash of every value computed.
//
// Usage: bench_interp [--iters STATEMENTS] [--globals N] [--seed N] [--quick]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common.h"

static const char kUsage[] =
    "usage: bench_interp [--iters STATEMENTS (default 400000, quick 40000)] [--globals N (20000)]\n"
    "                    [--seed N] [--quick]\n";

namespace {

enum Type : uint32_t { kInt, kStr, kList, kDict };

struct Obj {
  uint32_t type, refs;
};
struct Int : Obj {
  int64_t v;
};
struct Str : Obj {
  uint32_t len, hash;
  char s[1];
};
constexpr size_t kStrHeader = sizeof(Obj) + 2 * sizeof(uint32_t);  // where Str::s starts

struct List : Obj {
  size_t n, cap;
  Obj** items;
};
struct Entry {
  Obj* key;  // a Str, or nullptr (empty) / kDeleted
  Obj* val;
};
struct Dict : Obj {
  size_t used, filled, cap;
  Entry* e;
};
Obj* const kDeleted = reinterpret_cast<Obj*>(uintptr_t{1});

void decref(Obj* o);

Obj* incref(Obj* o) {
  ++o->refs;
  return o;
}

Int* new_int(int64_t v) {
  Int* i = static_cast<Int*>(bench::xmalloc(sizeof(Int)));
  i->type = kInt;
  i->refs = 1;
  i->v = v;
  return i;
}

Str* new_str(const char* s, size_t n) {
  Str* o = static_cast<Str*>(bench::xmalloc(kStrHeader + n + 1));
  o->type = kStr;
  o->refs = 1;
  o->len = static_cast<uint32_t>(n);
  std::memcpy(o->s, s, n);
  o->s[n] = 0;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 16777619u;
  o->hash = h;
  return o;
}

Str* concat(const Str* a, const Str* b) {
  char buf[4096];
  size_t n = a->len + b->len;
  if (n > sizeof buf) n = sizeof buf;
  size_t na = a->len < n ? a->len : n;
  std::memcpy(buf, a->s, na);
  std::memcpy(buf + na, b->s, n - na);
  return new_str(buf, n);
}

List* new_list() {
  List* l = static_cast<List*>(bench::xmalloc(sizeof(List)));
  l->type = kList;
  l->refs = 1;
  l->n = l->cap = 0;
  l->items = nullptr;
  return l;
}

void list_append(List* l, Obj* o) {  // takes o
  if (l->n == l->cap) {
    l->cap = l->cap + (l->cap >> 3) + (l->cap < 9 ? 3 : 6) + 1;
    l->items = static_cast<Obj**>(bench::xrealloc(l->items, sizeof(Obj*) * l->cap));
  }
  l->items[l->n++] = o;
}

Dict* new_dict() {
  Dict* d = static_cast<Dict*>(bench::xmalloc(sizeof(Dict)));
  d->type = kDict;
  d->refs = 1;
  d->used = d->filled = 0;
  d->cap = 8;
  d->e = static_cast<Entry*>(std::calloc(d->cap, sizeof(Entry)));
  if (!d->e) bench::fail("interp: calloc returned NULL");
  return d;
}

bool str_eq(const Obj* a, const Str* b) {
  const Str* s = static_cast<const Str*>(a);
  return s->hash == b->hash && s->len == b->len && std::memcmp(s->s, b->s, b->len) == 0;
}

Entry* dict_find(Dict* d, const Str* k, bool for_insert) {
  size_t i = k->hash & (d->cap - 1);
  Entry* first_deleted = nullptr;
  for (;;) {
    Entry* e = &d->e[i];
    if (e->key == nullptr) return for_insert && first_deleted ? first_deleted : e;
    if (e->key == kDeleted) {
      if (!first_deleted) first_deleted = e;
    } else if (str_eq(e->key, k)) {
      return e;
    }
    i = (i + 1) & (d->cap - 1);
  }
}

void dict_resize(Dict* d) {
  Entry* old = d->e;
  size_t old_cap = d->cap;
  d->cap = d->used * 3 < 8 ? 8 : size_t{1} << (64 - __builtin_clzll(d->used * 3));
  d->e = static_cast<Entry*>(std::calloc(d->cap, sizeof(Entry)));
  if (!d->e) bench::fail("interp: calloc returned NULL");
  d->filled = d->used;
  for (size_t i = 0; i < old_cap; ++i)
    if (old[i].key && old[i].key != kDeleted) {
      Entry* e = dict_find(d, static_cast<Str*>(old[i].key), true);
      *e = old[i];
    }
  std::free(old);
}

void dict_set(Dict* d, Str* k, Obj* v) {  // takes k and v
  Entry* e = dict_find(d, k, false);
  if (e->key && e->key != kDeleted) {
    decref(e->val);
    e->val = v;
    decref(k);
    return;
  }
  e = dict_find(d, k, true);
  if (e->key == nullptr) ++d->filled;
  e->key = k;
  e->val = v;
  ++d->used;
  if (d->filled * 3 >= d->cap * 2) dict_resize(d);
}

bool dict_del(Dict* d, const Str* k) {
  Entry* e = dict_find(d, k, false);
  if (!e->key) return false;
  decref(e->key);
  decref(e->val);
  e->key = kDeleted;
  e->val = nullptr;
  --d->used;
  return true;
}

void decref(Obj* o) {
  if (--o->refs) return;
  if (o->type == kList) {
    List* l = static_cast<List*>(o);
    for (size_t i = 0; i < l->n; ++i) decref(l->items[i]);
    std::free(l->items);
  } else if (o->type == kDict) {
    Dict* d = static_cast<Dict*>(o);
    for (size_t i = 0; i < d->cap; ++i)
      if (d->e[i].key && d->e[i].key != kDeleted) {
        decref(d->e[i].key);
        decref(d->e[i].val);
      }
    std::free(d->e);
  }
  std::free(o);
}

uint64_t value_hash(const Obj* o) {
  switch (o->type) {
    case kInt: return bench::mix64(static_cast<uint64_t>(static_cast<const Int*>(o)->v));
    case kStr: return static_cast<const Str*>(o)->hash;
    case kList: {
      const List* l = static_cast<const List*>(o);
      uint64_t h = l->n;
      for (size_t i = 0; i < l->n; ++i) h = bench::mix64(h + value_hash(l->items[i]));
      return h;
    }
    default: return static_cast<const Dict*>(o)->used;
  }
}

const char* const kWords[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                              "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};

Str* word(uint64_t r) {
  const char* w = kWords[r % 16];
  return new_str(w, std::strlen(w));
}

Str* int_str(int64_t v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  return new_str(buf, static_cast<size_t>(n));
}

// A call: a frame with locals and an evaluation stack, boxed arguments and results.
struct Frame {
  Obj* locals[16];
  Obj* stack[32];
  Frame* back;
};

Int* call_fib(Int* n, Frame* back) {  // takes n
  Frame* f = static_cast<Frame*>(bench::xmalloc(sizeof(Frame)));
  f->back = back;
  f->locals[0] = n;
  Int* r;
  if (n->v < 2) {
    r = new_int(n->v);
  } else {
    Int* a = call_fib(new_int(n->v - 1), f);
    Int* b = call_fib(new_int(n->v - 2), f);
    r = new_int(a->v + b->v);
    decref(a);
    decref(b);
  }
  decref(f->locals[0]);
  std::free(f);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Args args(argc, argv, kUsage);
  const long iters = args.get("iters", 400000, 40000);
  const long globals_max = args.get("globals", 20000, 20000);
  const uint64_t seed = static_cast<uint64_t>(args.get("seed", 1, 1));
  args.done();

  bench::Rng rng(seed);
  Dict* module = new_dict();
  uint64_t h = 0;
  for (long i = 0; i < iters; ++i) {
    const uint64_t r = rng.next();
    switch (r % 8) {
      case 0:
      case 1: {  // s = word + "-" + str(i) + ...; module[s] = s or a list of parts
        Str* s = word(r >> 8);
        for (uint64_t k = 0; k < 1 + (r >> 12) % 6; ++k) {
          Str* part = (k & 1) ? int_str(static_cast<int64_t>((r >> (16 + k)) % 100000)) : word(r >> (20 + k));
          Str* dash = new_str("-", 1);
          Str* t = concat(s, dash);
          Str* u = concat(t, part);
          decref(s);
          decref(dash);
          decref(t);
          decref(part);
          s = u;
        }
        h = bench::mix64(h + s->hash);
        if (module->used < static_cast<size_t>(globals_max)) {
          Str* key = int_str(static_cast<int64_t>((r >> 24) % static_cast<uint64_t>(globals_max * 2)));
          dict_set(module, key, incref(s));
        }
        decref(s);
        break;
      }
      case 2: {  // [x * k + 1 for x in range(n)], then sum and drop
        List* l = new_list();
        const int64_t n = 1 + static_cast<int64_t>((r >> 8) % 300), k = static_cast<int64_t>((r >> 20) % 7);
        for (int64_t x = 0; x < n; ++x) list_append(l, new_int(x * k + 1));
        int64_t sum = 0;
        for (size_t x = 0; x < l->n; ++x) sum += static_cast<Int*>(l->items[x])->v;
        h = bench::mix64(h + static_cast<uint64_t>(sum));
        if ((r >> 40) % 8 == 0) {
          Str* key = word(r >> 44);
          dict_set(module, concat(key, key), l);
          decref(key);
        } else {
          decref(l);
        }
        break;
      }
      case 3: {  // del module[random key]
        Str* key = int_str(static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(globals_max * 2)));
        h += dict_del(module, key);
        decref(key);
        break;
      }
      case 4: {  // " ".join(sorted-ish(s.split())) through a list of strings
        List* parts = new_list();
        for (uint64_t k = 0; k < 3 + (r >> 8) % 40; ++k) list_append(parts, word(r >> (k % 48)));
        Str* acc = new_str("", 0);
        for (size_t k = 0; k < parts->n; ++k) {
          Str* sp = new_str(" ", 1);
          Str* t = concat(acc, static_cast<Str*>(parts->items[k]));
          Str* u = concat(t, sp);
          decref(acc);
          decref(t);
          decref(sp);
          acc = u;
        }
        h = bench::mix64(h + acc->hash + value_hash(parts));
        decref(acc);
        decref(parts);
        break;
      }
      case 5: {  // a recursive function
        Int* v = call_fib(new_int(static_cast<int64_t>(4 + (r >> 8) % 8)), nullptr);
        h = bench::mix64(h + static_cast<uint64_t>(v->v));
        decref(v);
        break;
      }
      case 6: {  // a small record: a dict of a few fields
        Dict* d = new_dict();
        for (uint64_t k = 0; k < 2 + (r >> 8) % 10; ++k) dict_set(d, word(k * 5 + (r >> 16)), new_int(static_cast<int64_t>(k)));
        h = bench::mix64(h + d->used);
        if ((r >> 40) % 4 == 0 && module->used < static_cast<size_t>(globals_max)) {
          dict_set(module, int_str(static_cast<int64_t>((r >> 24) % static_cast<uint64_t>(globals_max * 2))), d);
        } else {
          decref(d);
        }
        break;
      }
      default: {  // look values up in the module dict
        Str* key = int_str(static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(globals_max * 2)));
        Entry* e = dict_find(module, key, false);
        if (e->key && e->key != kDeleted) h = bench::mix64(h + value_hash(e->val));
        decref(key);
        break;
      }
    }
  }
  h = bench::mix64(h + module->used);
  decref(module);
  std::printf("result: interp statements=%ld checksum=%016llx\n", iters, static_cast<unsigned long long>(h));
  return 0;
}
