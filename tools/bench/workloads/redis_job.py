#!/usr/bin/env python3
"""redis workload for the aixmalloc benchmark suite.

Pattern modelled: an in-memory key/value server under load. redis-server is
started on 127.0.0.1 on a free port with persistence off
(--save '' --appendonly no), driven by

    redis-benchmark -h 127.0.0.1 -p PORT -q -n N -r 100000 -d 64 -t set,get,lpush,lpop

(50 clients, random keys from a space of 100000, 64-byte values), then
checked with a few commands of our own (values of various sizes written and
read back, a list pushed and read back) and shut down.

Only the server gets the allocator under test (LD_PRELOAD and MALLOC* env);
redis-benchmark runs with the plain environment. Measured: the wall time of
redis-benchmark, and the server's peak RSS (VmHWM read from /proc/PID/status
just before shutdown).

Note: Debian's redis-server is linked against libjemalloc, so without any
LD_PRELOAD it uses jemalloc, not glibc. tools/bench/run therefore preloads
libc.so.6 for the "glibc" configuration of this workload, which makes glibc's
malloc win symbol resolution.

Used by tools/bench/run via run_redis(); can also be run alone:
    redis_job.py [-n REQUESTS] [--preload LIB]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

LOOPBACK = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class Resp:
    """Minimal RESP2 client (enough for our checks)."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("connection closed by server")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad RESP reply: %r" % line[:80])

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_ready(server, port, deadline):
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return "redis-server exited during startup (%s)" % _status_text(server.returncode)
        try:
            c = Resp(port, timeout=1.0)
            try:
                if c.cmd("PING") == "PONG":
                    return None
            finally:
                c.close()
        except (OSError, RuntimeError, ConnectionError):
            pass
        time.sleep(0.02)
    return "redis-server did not answer PING in time"


def own_checks(port):
    """Deterministic checks; returns a short digest string."""
    c = Resp(port)
    try:
        total = 0
        for i in range(200):
            val = bytes((i * 7 + k) & 0xFF for k in range(1000 + i * 37))
            if c.cmd("SET", "aixbench:check:%d" % i, val) != "OK":
                raise RuntimeError("SET failed")
            total += len(val)
        for i in range(200):
            val = bytes((i * 7 + k) & 0xFF for k in range(1000 + i * 37))
            if c.cmd("GET", "aixbench:check:%d" % i) != val:
                raise RuntimeError("GET aixbench:check:%d returned wrong data" % i)
        items = [("item-%d-" % i) * (1 + i % 9) for i in range(1000)]
        for chunk in range(0, 1000, 100):
            c.cmd("RPUSH", "aixbench:list", *items[chunk:chunk + 100])
        got = [x.decode() for x in c.cmd("LRANGE", "aixbench:list", 0, -1)]
        if got != items:
            raise RuntimeError("LRANGE returned wrong list")
        deleted = c.cmd("DEL", "aixbench:list", *["aixbench:check:%d" % i for i in range(200)])
        if deleted != 201:
            raise RuntimeError("DEL removed %r keys, expected 201" % deleted)
        return "bytes=%d items=%d" % (total, len(items))
    finally:
        c.close()


def _status_text(rc):
    if rc < 0:
        try:
            return "killed by signal %d (%s)" % (-rc, signal.Signals(-rc).name)
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def run_redis(server_env, bench_env, requests, timeout=120.0,
              server_bin="redis-server", bench_bin="redis-benchmark"):
    """Runs the workload once. Returns a dict:
    ok, time (s, redis-benchmark wall time), rss_kib (server VmHWM),
    stdout (result line), error (text or None)."""
    res = {"ok": False, "time": None, "rss_kib": None, "stdout": "", "error": None}
    tmpdir = tempfile.mkdtemp(prefix="aixbench-redis-")
    logpath = os.path.join(tmpdir, "server.log")
    port = free_port()
    log = open(logpath, "wb")
    server = subprocess.Popen(
        [server_bin, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--protected-mode", "yes", "--dir", tmpdir],
        env=server_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        err = wait_ready(server, port, min(deadline, time.monotonic() + 20))
        if err:
            res["error"] = err
            return res
        cmd = [bench_bin, "-h", LOOPBACK, "-p", str(port), "-q", "-n", str(requests),
               "-r", "100000", "-d", "64", "-t", "set,get,lpush,lpop"]
        t0 = time.perf_counter()
        try:
            b = subprocess.run(cmd, env=bench_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            res["error"] = "redis-benchmark timed out"
            return res
        res["time"] = time.perf_counter() - t0
        out = b.stdout.decode(errors="replace")
        finals = {}
        for piece in re.split(r"[\r\n]+", out):
            m = re.match(r"\s*([A-Z_]+): ([\d.]+) requests per second", piece)
            if m:
                finals[m.group(1)] = float(m.group(2))
        if b.returncode != 0 or server.poll() is not None:
            try:
                server.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            if server.returncode is not None:
                res["error"] = "redis-server died during the benchmark (%s)" % _status_text(server.returncode)
            else:
                res["error"] = "redis-benchmark exited with %d: %s" % (b.returncode, out.strip()[-300:])
            return res
        missing = {"SET", "GET", "LPUSH", "LPOP"} - set(finals)
        if missing:
            res["error"] = "redis-benchmark did not report %s" % ",".join(sorted(missing))
            return res
        try:
            digest = own_checks(port)
        except (OSError, RuntimeError, ConnectionError) as e:
            res["error"] = "check failed: %s" % e
            return res
        res["rss_kib"] = vm_hwm_kib(server.pid)
        res["rps"] = finals
        try:
            c = Resp(port)
            c.sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
            c.close()
        except OSError:
            pass
        try:
            rc = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            res["error"] = "redis-server did not shut down"
            return res
        if rc != 0:
            res["error"] = "redis-server failed at shutdown (%s)" % _status_text(rc)
            return res
        with open(logpath, "rb") as f:
            if b"cannot be preloaded" in f.read():
                res["error"] = "LD_PRELOAD was ignored by ld.so (library cannot be loaded)"
                return res
        res["stdout"] = "result: redis tests=GET,LPOP,LPUSH,SET n=%d %s\n" % (requests, digest)
        res["ok"] = True
        return res
    finally:
        if server.poll() is None:
            _kill_group(server)
            server.wait()
        log.close()
        if not res["ok"]:
            try:
                with open(logpath, "rb") as f:
                    res["server_log"] = f.read()[-2000:].decode(errors="replace")
            except OSError:
                pass
        shutil.rmtree(tmpdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=30000, help="requests per test (default 30000)")
    ap.add_argument("--preload", default="", help="LD_PRELOAD for redis-server")
    a = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    senv = dict(env)
    if a.preload:
        senv["LD_PRELOAD"] = a.preload
    r = run_redis(senv, env, a.n)
    if not r["ok"]:
        print("FAIL: %s" % r["error"], file=sys.stderr)
        if r.get("server_log"):
            print(r["server_log"], file=sys.stderr)
        return 2
    sys.stdout.write(r["stdout"])
    print("info: time=%.3f rss_kib=%s rps=%s" % (r["time"], r["rss_kib"], r["rps"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
