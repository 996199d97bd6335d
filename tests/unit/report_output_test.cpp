// Where reports go (libmalloc/base/report_output.h): %p expanded, the standard stream a report
// follows when the program closes it and reuses its number, a plain path claimed by one process
// (PATH.PID for a forked child), and the words for errno values (error_text.h).
#include "libmalloc/base/report_output.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "libmalloc/base/error_text.h"

namespace aixmalloc {
namespace {

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ReportOutput, ExpandsThePidMarker) {
  char out[64];
  ASSERT_TRUE(report::expand_path("/tmp/r.%p.json", 1234, out, sizeof out));
  EXPECT_STREQ(out, "/tmp/r.1234.json");
  ASSERT_TRUE(report::expand_path("%p-%p", 7, out, sizeof out));
  EXPECT_STREQ(out, "7-7");
  EXPECT_FALSE(report::expand_path("/a/very/long/name.%p", 123456, out, 12));
  EXPECT_TRUE(report::has_pid_marker("x%py"));
  EXPECT_FALSE(report::has_pid_marker("x%y"));
}

TEST(ReportOutput, ErrorWords) {
  char buf[24];
  EXPECT_STREQ(error_text(ENOENT, buf, sizeof buf), "no such file or directory");
  EXPECT_STREQ(error_text(ELOOP, buf, sizeof buf),
               "it is a symbolic link, which is never followed");
  EXPECT_STREQ(error_text(4095, buf, sizeof buf), "error 4095");
}

// Standard output kept, then closed by the program and its number given to a file of its own: the
// report goes to the pipe the process started with, and the file gets nothing.
TEST(ReportOutput, AReportFollowsTheStreamTheProcessStartedWith) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    Destination d;
    d.kind = Destination::kStdout;
    report::prepare(report::Report::kStats, d, "AIXMALLOC_STATS", 0666);
    close(STDOUT_FILENO);
    char path[] = "/tmp/report_output_test.XXXXXX";
    int own = mkstemp(path);  // the lowest free number: 1
    int fd = report::descriptor(report::Report::kStats);
    bool ok = own == STDOUT_FILENO && fd >= 0 && fd != STDOUT_FILENO;
    if (ok) (void)!write(fd, "report\n", 7);
    off_t size = lseek(own, 0, SEEK_END);
    unlink(path);
    _exit(ok && size == 0 ? 0 : 1);
  }
  close(pipe_fds[1]);
  char buf[16] = {};
  ssize_t n = read(pipe_fds[0], buf, sizeof buf - 1);
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(n, 7);
  EXPECT_STREQ(buf, "report\n");
}

// A plain path: the process that prepared it holds it; a child forked without exec writes
// PATH.PID, and the parent's file keeps only the parent's report.
TEST(ReportOutput, APlainPathIsOneProcesssAForkedChildWritesPathDotPid) {
  char dir[] = "/tmp/report_output_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  Destination d;
  d.kind = Destination::kPath;
  std::string path = std::string(dir) + "/r.txt";
  memcpy(d.path, path.c_str(), path.size() + 1);
  report::prepare(report::Report::kStatsJson, d, "AIXMALLOC_STATS_JSON", 0666);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = report::descriptor(report::Report::kStatsJson);
    if (fd >= 0) (void)!write(fd, "child\n", 6);
    _exit(fd >= 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  int fd = report::descriptor(report::Report::kStatsJson);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "parent\n", 7), 7);
  std::string child_path = path + "." + std::to_string(pid);
  EXPECT_EQ(contents(path), "parent\n");
  EXPECT_EQ(contents(child_path), "child\n");
  unlink(child_path.c_str());
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace aixmalloc
