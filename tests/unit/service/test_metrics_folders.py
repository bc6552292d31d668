"""The process that starts the others chooses the multiprocess folder, and cleans finished ones.

Each case runs in a fresh interpreter: prometheus_client picks its storage once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
ACTIVATE = """
import os, sys
from pathlib import Path
from service.metrics import folders, series
own = folders.activate(Path(sys.argv[1]), "api").own
series.observe_request("comments.Comments", "POST", 202, 0.01)
print(own, os.environ["PROMETHEUS_MULTIPROC_DIR"])
"""


def _run(code: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    return subprocess.run(
        [sys.executable, "-c", code, str(root)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_activation_makes_a_folder_and_removes_those_of_finished_trees(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    root = tmp_path / "metrics"
    gone = root / f"worker-{int(finished.stdout)}"
    gone.mkdir(parents=True)
    (gone / "counter_1.db").write_bytes(b"")
    running = root / f"worker-{os.getpid()}"
    running.mkdir()
    unrelated = root / "notes"
    unrelated.mkdir()

    result = _run(ACTIVATE, root)
    assert result.returncode == 0, result.stderr
    own, variable = result.stdout.split()
    assert own == variable and Path(own).parent == root.resolve()
    assert {p.name.split("_")[0] for p in Path(own).iterdir()} == {"counter", "histogram"}
    assert not gone.exists() and running.exists() and unrelated.exists()


def test_activation_too_late_keeps_the_service_running_and_says_so(tmp_path: Path) -> None:
    code = """
import logging, sys
from pathlib import Path
import prometheus_client
from service.metrics import folders, series
logging.basicConfig()
assert folders.activate(Path(sys.argv[1]), "api") is None and folders.active() is None
series.observe_request("comments.Comments", "POST", 202, 0.01)
"""
    result = _run(code, tmp_path / "metrics")
    assert result.returncode == 0, result.stderr
    assert "imported before its multiprocess folder was chosen" in result.stderr
    assert not (tmp_path / "metrics").exists()


def test_a_worker_started_by_a_worker_writes_to_its_parents_folder(tmp_path: Path) -> None:
    """The retry lane is a child of the main lane's process: it joins the main lane's folder
    (whose exporter then reports both) instead of making one of its own."""
    root = tmp_path / "metrics"
    parents = root / f"worker-{os.getpid()}"
    parents.mkdir(parents=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(parents)}
    result = subprocess.run(
        [sys.executable, "-c", ACTIVATE, str(root)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    own, variable = result.stdout.split()
    assert own == variable == str(parents.resolve())
    assert [p.name for p in root.iterdir()] == [parents.name]
    assert {p.name.split("_")[0] for p in parents.iterdir()} == {"counter", "histogram"}
