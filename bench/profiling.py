"""py-spy profiles of the running server processes, summed up by function.

The benchmarks' ``--profile`` options attach py-spy (``pip install -e '.[profile]'``) to the
processes under load and print the project's functions, and the library calls where time leaves
the project (waiting for PostgreSQL, a commit, a publish, a webhook POST), that the largest
shares of samples pass through (inclusive: a function counts for everything it calls).
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """The process and all processes below it, read from /proc."""
    parents: dict[int, list[int]] = collections.defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def record(pids: list[int], seconds: float, rate: int = 100, gil: bool = False) -> list[Path]:
    """Sample each process for ``seconds`` (py-spy, non-blocking); returns the raw files. With
    ``gil``, only threads holding the interpreter are sampled: where the CPU goes in Python,
    without the waits."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise SystemExit("py-spy is needed for --profile: pip install -e '.[profile]'")
    folder = Path(tempfile.mkdtemp(prefix="cg-profile-"))
    spies = []
    for pid in pids:
        out = folder / f"{pid}.txt"
        command = [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", str(rate)]
        command += ["-f", "raw", "-o", str(out), "--nonblocking", *(["--gil"] if gil else [])]
        spies.append(
            (out, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    for _, process in spies:
        process.wait()
    return [out for out, _ in spies if out.exists()]


# Library calls worth seeing next to the project's own functions: where time leaves the code.
BOUNDARIES = frozenset(
    {
        "Connection.wait",  # psycopg: waiting for PostgreSQL
        "Session.commit",
        "Connection.commit",
        "Celery.send_task",
        "Producer.publish",
        "Session.post",  # requests: a webhook POST
        "Schema.load",
        "Flask.full_dispatch_request",
        "apply_batches_task",
        "asynloop",
        "Redis.execute_command",
        "SQLiteCursor.execute",  # not a class in 3.11; kept for the name py-spy shows
        "Cursor.execute",
        "Parser.parse",  # webargs: reading and validating a request
        "Engine.connect",
        "ThreadWorker.handle",  # gunicorn: one request on a gthread worker
    }
)
OWN = ("service/", "workers/", "classifier/")  # py-spy names files relative to sys.path
ENTRY_POINTS = ("service/cli.py", "service/server.py")  # start-up frames every sample shares


def summarize(files: list[Path], title: str, top: int = 25) -> list[str]:
    """The project's functions and the library boundaries with the largest inclusive share of
    the samples of ``files``."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            total += samples
            for frame in {_name(f) for f in stack.split(";")} - {None}:
                inclusive[frame] += samples
    lines = [f"\n{title}: {total} samples; share of them passing through each function"]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return lines


def _name(frame: str) -> str | None:
    """``function (path/to/module.py:12)`` as ``function (module.py)``, or None for a frame
    outside the project that is not a boundary."""
    function, _, where = frame.partition(" (")
    path = where.split(":", 1)[0]
    if path in ENTRY_POINTS:
        return None
    if not path.startswith(OWN) and function not in BOUNDARIES:
        return None
    return f"{function} ({path.rsplit('/', 1)[-1]})"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes_named(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (PostgreSQL backends, Redis)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in command:
                found.append(int(entry.name))
    return found
