#!/usr/bin/python3
"""Runs a command and writes its cost to a file, for `cargo xtask bench`:

  measure.py RESULT_FILE COMMAND [ARGS...]

RESULT_FILE gets one line `STATUS WALL_S USER_S SYS_S MAXRSS_KIB`, taken
from wait4(2) (so user/sys/RSS are the child's own, children of it included
only once they are reaped). stdin/stdout/stderr are inherited. The exit code
is the child's.
"""

import os
import sys
import time

out, argv = sys.argv[1], sys.argv[2:]
start = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - start
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as f:
    f.write("%d %.3f %.3f %.3f %d\n" % (code, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss))
sys.exit(code if code >= 0 else 128 - code)
