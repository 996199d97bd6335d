// What the commands that read files share (cli.h): the whole of a file or of standard input, and
// a flag's value written "--name VALUE" or "--name=VALUE".
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli/cli.h"

namespace aixmalloc::cli {

bool read_all(const std::string& path, std::string* out, std::string* error) {
  FILE* f = path == "-" ? stdin : fopen(path.c_str(), "rb");
  if (!f) {
    *error = strerror(errno);
    return false;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  bool ok = !ferror(f);
  if (!ok) *error = strerror(errno);
  if (f != stdin) fclose(f);
  return ok;
}

// "--name VALUE" or "--name=VALUE": 1 with *value set, 0 when `a` is another flag, -1 when the
// value is missing.
int flag_value(std::string_view name, int argc, char** argv, int* i, std::string* value) {
  std::string_view a = argv[*i];
  if (a.substr(0, name.size()) != name) return 0;
  if (a.size() == name.size()) {
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
  }
  if (a[name.size()] != '=') return 0;
  *value = std::string(a.substr(name.size() + 1));
  return 1;
}

}  // namespace aixmalloc::cli
