// `aixmalloc stats --pid`: asks a running process for its statistics over the channel of
// AIXMALLOC_STATS_SIGNAL (aixmalloc(7)): a signal in, the JSON document of AIXMALLOC_STATS_JSON
// out, in a file of /dev/shm or /tmp. stats.cpp renders the answer as it renders a FILE.
#pragma once

#include <sys/types.h>

#include <string>

namespace aixmalloc::cli {

struct LiveRequest {
  pid_t pid = 0;
  int signal = 0;        // --signal, already parsed; 0: the process's own AIXMALLOC_STATS_SIGNAL
  double timeout = 5.0;  // seconds to wait for the answer
};

struct LiveAnswer {
  std::string document;  // the file's text, unparsed
  std::string path;      // where it was read; removed since
  int signal = 0;        // the signal sent
};

// The signal AIXMALLOC_STATS_SIGNAL=`value` names, through the runtime's parser; 0 with the
// parser's diagnostic in *why when it names none.
int parse_stats_signal(const char* value, std::string* why);

// Sends the signal and waits for the answer. kExitOk with *answer filled; otherwise one line on
// standard error and the exit status: kExitUsage when the process cannot be asked (no such
// process, not opted in, not on aixmalloc, not ours to signal), kExitFailed when it was asked
// but gave no answer that can be trusted.
int ask_process(const LiveRequest& request, LiveAnswer* answer);

}  // namespace aixmalloc::cli
