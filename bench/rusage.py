"""Run a command; report its wall time, CPU time and peak RSS.

    python3 bench/rusage.py <out-file> <command> [args...]

Writes "<wall_ms> <user_ms> <sys_ms> <maxrss_kb>" to <out-file> and exits
with the command's status (128 + signal when killed). The clock runs from
just before fork to the command's exit, so neither this wrapper's start-up
nor the caller's spawn is counted. CPU time is getrusage(RUSAGE_CHILDREN)
after the wait: user + system time of the command and of every descendant it
waited for.

Peak RSS is the largest single process among them (not a sum). A forked
child keeps its parent's RSS high-water mark through exec, so a python
parent (~10 MB) would put a floor under small commands like cp; when GNU
time is installed the command runs under `/usr/bin/time -f %M` (a ~2 MB
parent) and its figure is used instead.
"""
import os
import resource
import sys
import tempfile
import time

GNU_TIME = "/usr/bin/time"


def main():
    out, argv = sys.argv[1], sys.argv[2:]
    rss_file = None
    if os.access(GNU_TIME, os.X_OK):
        fd, rss_file = tempfile.mkstemp(prefix="rss-", dir=os.path.dirname(os.path.abspath(out)))
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file] + argv
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    wall = (time.perf_counter() - start) * 1000
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    maxrss = ru.ru_maxrss
    if rss_file:
        try:
            with open(rss_file) as f:
                lines = [line for line in f.read().split("\n") if line.strip()]
            maxrss = int(lines[-1])
        except (OSError, ValueError, IndexError):
            pass
        os.unlink(rss_file)
    with open(out, "w") as f:
        f.write(f"{wall:.3f} {ru.ru_utime * 1000:.3f} {ru.ru_stime * 1000:.3f} {maxrss}\n")
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


main()
