// `aixmalloc stats --pid` and `aixmalloc leaks --pid`: ask a running process over the live
// statistics' channel (aixmalloc(7), AIXMALLOC_STATS_SIGNAL): the signal its advert names (or its
// AIXMALLOC_STATS_SIGNAL), a request in the signal's value, a JSON document out, in a file of
// /dev/shm or /tmp. The commands render the answer as they render a FILE.
#pragma once

#include <sys/types.h>

#include <string>

namespace aixmalloc::cli {

// What is asked: the signal's value (sigqueue's sival_int) and the name of the answer's file.
enum class LiveDocument { kStatistics, kLeaks };

struct LiveRequest {
  LiveDocument document = LiveDocument::kStatistics;
  pid_t pid = 0;
  int signal = 0;        // --signal, already parsed; 0: the process's advert or variable
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

// --pid, --signal and --timeout of `command` (stats, leaks) into *request; kExitOk, or the usage
// error's status after its message.
int live_request_flags(const char* command, const std::string& pid, const std::string& signal,
                       const std::string& timeout, LiveRequest* request);

// Sends the request and waits for the answer. kExitOk with *answer filled; otherwise one line on
// standard error and the exit status: kExitUsage when the process cannot be asked (no such
// process, no channel, not on aixmalloc, not ours to signal), kExitFailed when the request would
// disturb it (ignored, not caught, blocked, the signal taken by the program) or it gave no answer
// that can be trusted.
int ask_process(const LiveRequest& request, LiveAnswer* answer);

}  // namespace aixmalloc::cli
