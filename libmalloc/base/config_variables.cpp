// The parsers of aixmalloc's own variables (AIXMALLOC_STATS, AIXMALLOC_STATS_JSON,
// AIXMALLOC_LEAKS_JSON, AIXMALLOC_STATS_SIGNAL, AIXMALLOC_ZERO_SIZE) and of AIX's paging-space
// variables (PSALLOC, NODISCLAIM), beside config.cpp's option lists.
#include <signal.h>

#include "libmalloc/base/config_parser.h"

namespace aixmalloc::config_detail {

void Parser::parse_stats(Variable var, Span value, Destination* out) {
  value = trim(value);
  if (value.empty()) return;
  parse_destination(var, "destination", value, out);
}

// AIXMALLOC_STATS_SIGNAL: USR1, USR2, RTMIN[+n], RTMAX[-n], with or without "SIG", in any case, or
// the number of one of those; or off. Only signals no process needs by default (a fault or job
// control would change what the program does). Unset or refused, the runtime picks a free one.
void Parser::parse_signal(Span value) {
  value = trim(value);
  if (value.empty()) return;
  if (value.iequals("off")) {
    cfg_->stats_signal = kStatsSignalOff;
    return;
  }
  Span name = value;
  if (name.n > 3 && Span{name.p, 3}.iequals("sig")) name = Span{name.p + 3, name.n - 3};
  int rtmin = __libc_current_sigrtmin(), rtmax = __libc_current_sigrtmax();
  int sig = 0;
  uint64_t number = 0;
  if (name.iequals("usr1")) {
    sig = SIGUSR1;
  } else if (name.iequals("usr2")) {
    sig = SIGUSR2;
  } else if (name.n >= 5 &&
             (Span{name.p, 5}.iequals("rtmin") || Span{name.p, 5}.iequals("rtmax"))) {
    bool from_min = Span{name.p, 5}.iequals("rtmin");
    Span rest{name.p + 5, name.n - 5};
    if (rest.empty()) {
      sig = from_min ? rtmin : rtmax;
    } else if (rest.p[0] == (from_min ? '+' : '-') &&
               parse_number(Span{rest.p + 1, rest.n - 1}, &number) &&
               number <= static_cast<uint64_t>(rtmax - rtmin)) {
      sig = from_min ? rtmin + static_cast<int>(number) : rtmax - static_cast<int>(number);
    }
  } else if (parse_number(value, &number) && number <= 1024) {
    int n = static_cast<int>(number);
    if (n == SIGUSR1 || n == SIGUSR2 || (n >= rtmin && n <= rtmax)) sig = n;
  }
  if (sig != 0 && !ctx_.secure) {
    cfg_->stats_signal = sig;
    return;
  }
  Text& line = diag(Variable::kAixmallocStatsSignal).quoted(value.p, value.n);
  if (ctx_.secure)
    line.str(" refused in a set-uid or set-gid process; live statistics are off");
  else
    line.str(" is not USR1, USR2, RTMIN+n, RTMAX-n or off (n 0-")
        .num(static_cast<uint64_t>(rtmax - rtmin))
        .str("); aixmalloc picks a free real-time signal");
  done();
}

// AIXMALLOC_ZERO_SIZE: null (AIX's malloc(0) and friends return NULL) or pointer (glibc's).
void Parser::parse_zero_size(Span value) {
  value = trim(value);
  if (value.empty() || value.iequals("pointer")) return;
  if (value.iequals("null")) {
    cfg_->zero_size_null = true;
    return;
  }
  diag(Variable::kAixmallocZeroSize)
      .quoted(value.p, value.n)
      .str(" is not 'null' or 'pointer'; malloc(0) returns a pointer");
  done();
}

// PSALLOC=early: AIX allocates paging space early and every free() disclaims what it frees, unless
// NODISCLAIM=true. Under the policies disclaim applies to; NODISCLAIM alone says it changes
// nothing.
void Parser::parse_psalloc(Span psalloc, Span nodisclaim) {
  psalloc = trim(psalloc);
  nodisclaim = trim(nodisclaim);
  bool early = false, suppressed = false;
  if (psalloc.iequals("early")) {
    early = true;
  } else if (!psalloc.empty() && !psalloc.iequals("late")) {
    diag(Variable::kPsalloc)
        .quoted(psalloc.p, psalloc.n)
        .str(" is not 'early' or 'late'; free() gives no pages back");
    done();
  }
  if (nodisclaim.iequals("true")) {
    suppressed = true;
    if (!early) {
      diag(Variable::kNodisclaim).str("'true' has no effect without PSALLOC=early; ignored");
      done();
    }
  } else if (!nodisclaim.empty() && !nodisclaim.iequals("false")) {
    diag(Variable::kNodisclaim)
        .quoted(nodisclaim.p, nodisclaim.n)
        .str(" is not 'true' or 'false'; ")
        .str(early ? "PSALLOC=early disclaims at every free" : "ignored");
    done();
  }
  if (!early || suppressed) return;
  if (!(spec(OptionId::kDisclaim).policies & (1u << static_cast<unsigned>(cfg_->policy)))) {
    diag(Variable::kPsalloc)
        .str("'early' does not apply to MALLOCTYPE=")
        .str(spec(cfg_->policy).spelling())
        .str("; ignored");
    done();
    return;
  }
  cfg_->psalloc_early = true;
}

}  // namespace aixmalloc::config_detail
