"""prometheus_client's multiprocess mode, one folder per process tree.

Gunicorn's processes and Celery's prefork processes each write their counters to files; a
scrape adds them up. The process that starts the others (gunicorn's master, Celery's main
process) calls :func:`activate` before any series exists: it creates its own folder,
``COMMENTGATE_HOME/metrics/<role>-<pid>``, removes the folders of process trees that are gone,
and points ``PROMETHEUS_MULTIPROC_DIR`` at its folder so its children inherit it (a worker that
another worker started, the retry lane, writes to its parent's folder too). The API's
``/metrics`` adds up every folder under the root, so on one machine it also reports the workers
that share its ``COMMENTGATE_HOME``; a worker's exporter reports its own folder.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Folders:
    root: Path
    own: Path


_active: Folders | None = None


def activate(root: Path, role: str) -> Folders | None:
    """Create (empty) this process tree's folder and clean away those of finished ones.

    Too late (prometheus_client already keeps its values in memory), it says so in the log and
    changes nothing: each process then reports only its own series, but the service runs.
    """
    global _active
    if "prometheus_client.values" in sys.modules:
        from prometheus_client import values

        if not values.ValueClass._multiprocess:
            log.error(
                "prometheus_client was imported before its multiprocess folder was chosen: "
                "each %s process reports only its own metrics",
                role,
            )
            return None
    root.mkdir(parents=True, exist_ok=True)
    inherited = _parents_folder(root)
    if inherited is not None:  # the parent's tree: it reports, and cleans, this process too
        os.environ[ENVIRONMENT_VARIABLE] = str(inherited)
        _active = Folders(root.resolve(), inherited)
        return _active
    for folder in root.iterdir():
        if folder.is_dir() and not _owner_alive(folder.name):
            shutil.rmtree(folder, ignore_errors=True)
    own = root / f"{role}-{os.getpid()}"
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir()
    os.environ[ENVIRONMENT_VARIABLE] = str(own)
    _active = Folders(root.resolve(), own.resolve())
    return _active


def _parents_folder(root: Path) -> Path | None:
    """The folder this process inherited from the process that started it, if it is one of
    ``root``'s, still there."""
    inherited = os.environ.get(ENVIRONMENT_VARIABLE)
    if not inherited:
        return None
    folder = Path(inherited).resolve()
    pid = folder.name.rpartition("-")[2]
    owned = pid.isdigit() and int(pid) == os.getppid()
    return folder if owned and folder.parent == root.resolve() and folder.is_dir() else None


def active() -> Folders | None:
    """This process tree's folders, or None when it keeps its metrics in memory."""
    return _active


def _owner_alive(name: str) -> bool:
    """Folders are named ``<role>-<pid>``; anything else is left alone."""
    pid = name.rpartition("-")[2]
    if not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_process_dead(pid: int) -> None:
    """A child exited: its files stay (counters must not go back), its live gauges go."""
    if _active is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(_active.own))


class FolderCollector:
    """Adds up the files of every process in the given folders at each scrape."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = list(patterns)

    def collect(self) -> Iterable[Any]:
        from prometheus_client.multiprocess import MultiProcessCollector

        for attempt in range(3):
            files = [f for pattern in self.patterns for f in glob.glob(pattern)]
            try:
                return MultiProcessCollector.merge(files, accumulate=True)
            except FileNotFoundError:  # a finished tree's folder was cleaned meanwhile
                if attempt == 2:
                    raise
        return []


def collector(everything: bool) -> FolderCollector | None:
    """Every folder under the root (the API on this machine), or this tree's own (a worker)."""
    if _active is None:
        return None
    if everything:
        return FolderCollector([str(_active.root / "*" / "*.db")])
    return FolderCollector([str(_active.own / "*.db")])
