// Words for the errno values a report file or a descriptor can fail with, for the one line that
// says why a report went elsewhere. strerror() is not used: it may translate through the locale,
// which allocates, and the allocator never allocates through itself.
#pragma once

namespace aixmalloc {

// "no such file or directory" for ENOENT...; "error N" (in `buf`, at least 24 bytes) for a value
// the table does not have.
const char* error_text(int err, char* buf, unsigned long n);

}  // namespace aixmalloc
