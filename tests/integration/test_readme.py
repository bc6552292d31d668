"""The README's "Five minutes" walkthrough, run as a script exactly as README.md writes it, on a
fresh copy of the repository (its tracked files, no ``../shared``): a new user's first commands.

Only the ports change: the service and the listener get free loopback ports instead of 8000 and
9000. ``commentgate`` is this interpreter's (the venv's), running the copy's code.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, stop_process, wait_for
from tests.support.local import free_port

pytestmark = pytest.mark.integration

MARKER = "tests/integration/test_readme.py runs the next block as a script"
# Set up by the script's exit trap: the shell's status, and its background jobs' process ids; the
# trap then waits for those jobs, so the test stops them by id and the shell reaps them.
PRELUDE = """set -eu
trap 'status=$?; jobs -p > "$CG_README_PIDS"; echo "$status" > "$CG_README_STATUS"; wait' EXIT
"""
LISTENER_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  comment\.decided  wp-1042  (?P<action>\w+)  (?P<codes>\S+)$",
    re.M,
)


def five_minutes_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert MARKER in readme, "the README's tested block lost its marker"
    block = re.search(r"^```sh\n(.*?)^```$", readme.split(MARKER, 1)[1], re.S | re.M)
    assert block, "no ```sh block after the marker"
    return block.group(1)


def on_ports(script: str, api_port: int, hook_port: int) -> str:
    for default, port in ((8000, api_port), (9000, hook_port)):
        assert re.search(rf"\b{default}\b", script), f"the walkthrough no longer uses {default}"
        script = re.sub(rf"\b{default}\b", str(port), script)
    return script


def fresh_copy(destination: Path) -> Path:
    """What a clone holds: the tracked files, as they are in this working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def stop_jobs(shell: subprocess.Popen, pids_file: Path) -> None:
    """SIGTERM to each background job by id (``commentgate run`` stops its own children), then
    the shell, which has been waiting for them; SIGKILL to whatever is left in its group."""
    pids = pids_file.read_text().split() if pids_file.exists() else []
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        shell.wait(timeout=25)
    except subprocess.TimeoutExpired:
        pass
    stop_process(shell, signal.SIGKILL)


def test_the_five_minutes_walkthrough_runs_as_written(tmp_path: Path) -> None:
    clone = fresh_copy(tmp_path / "commentgate")
    api_port, hook_port = free_port(), free_port()
    while hook_port == api_port:
        hook_port = free_port()
    script = tmp_path / "five-minutes.sh"
    script.write_text(PRELUDE + on_ports(five_minutes_block(), api_port, hook_port))
    pids, status, log = tmp_path / "jobs.pids", tmp_path / "status", tmp_path / "output.log"

    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMENTGATE_", "VIRTUAL"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(clone),  # the copy's packages, ahead of the editable install's
        COMMENTGATE_HOME=str(clone / "var"),
        CG_README_PIDS=str(pids),
        CG_README_STATUS=str(status),
    )
    started = time.monotonic()
    with open(log, "wb") as output:
        shell = subprocess.Popen(
            ["bash", str(script)],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: status.exists() and status.read_text().strip(), timeout=50, interval=0.2)
        text = log.read_text(errors="replace")
        assert status.read_text().strip() == "0", text[-4000:]
        assert re.search(r'"api_key": "cg_', text), "sites create printed the site"
        accepted = re.search(r'^\{"decision":null,"external_id":"wp-1042",.*\}$', text, re.M)
        assert accepted and '"status":"pending"' in accepted[0], text[-4000:]
        assert re.search(r"^202$", text, re.M), text[-4000:]

        decided = wait_for(lambda: LISTENER_LINE.search(log.read_text(errors="replace")), 30)
        assert decided["action"] == "hold"  # what the README says the shipped model does
        assert "spam_score" in decided["codes"].split(",")
        assert time.monotonic() - started < 60
    finally:
        stop_jobs(shell, pids)
    assert (clone / "var" / "commentgate.db").is_file()
    assert not (tmp_path / "shared").exists()
