// The table of error_text() (error_text.h): the errno values opening or writing a file can give,
// in lower case as they read inside a sentence.
#include "libmalloc/base/error_text.h"

#include <errno.h>

#include "libmalloc/base/format.h"

namespace aixmalloc {
namespace {

struct ErrorWords {
  int err;
  const char* text;
};

constexpr ErrorWords kErrors[] = {
    {ENOENT, "no such file or directory"},
    {EACCES, "permission denied"},
    {EPERM, "operation not permitted"},
    {ELOOP, "it is a symbolic link, which is never followed"},
    {EISDIR, "it is a directory"},
    {ENOTDIR, "a part of the path is not a directory"},
    {ENAMETOOLONG, "the name is too long"},
    {EROFS, "read-only file system"},
    {ENOSPC, "no space left on the device"},
    {EDQUOT, "disk quota exceeded"},
    {EMFILE, "too many open files in the process"},
    {ENFILE, "too many open files in the system"},
    {EEXIST, "the file exists"},
    {ETXTBSY, "the file is a running program"},
    {EFBIG, "the file is too large"},
    {ENXIO, "no such device or address"},
    {ENODEV, "no such device"},
    {EINTR, "interrupted by a signal"},
    {EINVAL, "invalid argument"},
    {EIO, "input/output error"},
    {EBADF, "bad file descriptor"},
    {EAGAIN, "resource temporarily unavailable"},
    {ENOMEM, "out of memory"},
    {EOVERFLOW, "value too large"},
    {EPIPE, "broken pipe"},
};

}  // namespace

const char* error_text(int err, char* buf, unsigned long n) {
  for (const ErrorWords& e : kErrors)
    if (e.err == err) return e.text;
  Text t(buf, n);
  t.str("error ").num(static_cast<uint64_t>(err < 0 ? -err : err));
  return t.c_str();
}

}  // namespace aixmalloc
