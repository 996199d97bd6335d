// The live-statistics channel's names (see live_stats_path.h), formatted and read without
// allocating: the runtime builds them inside a signal handler, the CLI reads /proc with them.
#include "libmalloc/base/live_stats_path.h"

#include <cstring>

namespace aixmalloc {

namespace {

// "KEY=" then a decimal number, or 0x and a hexadecimal one, up to a blank or the end.
bool read_field(const char*& p, const char* end, const char* key, uint64_t* out) {
  size_t k = strlen(key);
  if (static_cast<size_t>(end - p) <= k || memcmp(p, key, k) != 0) return false;
  p += k;
  unsigned base = 10;
  if (end - p > 2 && p[0] == '0' && p[1] == 'x') {
    base = 16;
    p += 2;
  }
  uint64_t v = 0;
  const char* digits = p;
  for (; p < end && *p != ' '; ++p) {
    unsigned d = 99;
    if (*p >= '0' && *p <= '9') d = static_cast<unsigned>(*p - '0');
    else if (base == 16 && *p >= 'a' && *p <= 'f') d = static_cast<unsigned>(*p - 'a' + 10);
    if (d >= base || v > (UINT64_MAX - d) / base) return false;
    v = v * base + d;
  }
  if (p == digits) return false;
  *out = v;
  if (p < end) ++p;  // the blank
  return true;
}

}  // namespace

const char* live_advert_name(Text& out, const LiveAdvert& advert) {
  out.clear();
  out.str(kLiveAdvertPrefix).str("sig=").num(static_cast<uint64_t>(advert.signal));
  if (advert.signal != 0) out.str(" cookie=").hex(advert.cookie);
  else out.str(" taken=").num(static_cast<uint64_t>(advert.taken));
  return out.c_str();
}

bool parse_live_advert(const char* text, size_t len, LiveAdvert* out) {
  const char* p = text;
  const char* end = text + len;
  static constexpr char kMemfd[] = "/memfd:", kDeleted[] = " (deleted)";
  const size_t memfd = sizeof(kMemfd) - 1, deleted = sizeof(kDeleted) - 1;
  if (len >= memfd && memcmp(p, kMemfd, memfd) == 0) p += memfd;
  if (static_cast<size_t>(end - p) >= deleted && memcmp(end - deleted, kDeleted, deleted) == 0)
    end -= deleted;
  const size_t prefix = sizeof(kLiveAdvertPrefix) - 1;
  if (static_cast<size_t>(end - p) < prefix || memcmp(p, kLiveAdvertPrefix, prefix) != 0)
    return false;
  p += prefix;
  uint64_t sig = 0, value = 0;
  if (!read_field(p, end, "sig=", &sig) || sig > 1024) return false;
  LiveAdvert a;
  a.signal = static_cast<int>(sig);
  if (sig != 0) {
    if (!read_field(p, end, "cookie=", &value) || value == 0 || (value & kLiveKindMask))
      return false;
    a.cookie = value;
  } else {
    if (!read_field(p, end, "taken=", &value) || value > 1024) return false;
    a.taken = static_cast<int>(value);
  }
  if (p != end) return false;
  *out = a;
  return true;
}

const char* live_report_path(Text& out, const char* dir, const char* kind, uint64_t pid) {
  out.clear();
  out.str(dir).str("/aixmalloc-").str(kind).ch('.').num(pid).str(".json");
  return out.c_str();
}

const char* live_report_temporary_path(Text& out, const char* dir, const char* kind, uint64_t pid, uint64_t tid) {
  out.clear();
  out.str(dir).str("/.aixmalloc-").str(kind).ch('.').num(pid).ch('.').num(tid).str(".tmp");
  return out.c_str();
}

const char* live_stats_path(Text& out, const char* dir, uint64_t pid) {
  return live_report_path(out, dir, "stats", pid);
}

const char* live_stats_temporary_path(Text& out, const char* dir, uint64_t pid, uint64_t tid) {
  return live_report_temporary_path(out, dir, "stats", pid, tid);
}

}  // namespace aixmalloc
