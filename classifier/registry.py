"""The model registry: one folder holding every version and a pointer to the active one.

Layout: `<root>/<version>/` (model.npz + metadata.json) and `<root>/active.json`
(`{"active": version, "history": [previous versions]}`), replaced atomically with `os.replace`
under a file lock, so several service instances can share the folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .model import METADATA_FILE, MODEL_FILE, Model, ModelLoadError, file_sha256, load_model

__all__ = ["Registry", "ActiveModel", "RegistryError"]

POINTER_FILE = "active.json"
_LOCK_FILE = ".lock"


class RegistryError(Exception):
    """A registry operation that cannot be done (unknown version, nothing to roll back to)."""


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _library_versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path.name


class Registry:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def pointer(self) -> Path:
        return self.root / POINTER_FILE

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / _LOCK_FILE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_pointer(self) -> dict:
        try:
            return json.loads(self.pointer.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"active": None, "history": []}
        except ValueError as exc:
            raise RegistryError(f"{self.pointer} is corrupt: {exc}") from exc

    def _write_pointer(self, state: dict) -> None:
        tmp = self.root / f".{POINTER_FILE}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(tmp, self.pointer)

    def path(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise RegistryError(f"invalid model version {version!r}")
        return self.root / version

    def active_version(self) -> str | None:
        return self._read_pointer().get("active")

    def show(self, version: str) -> dict:
        path = self.path(version) / METADATA_FILE
        if not path.is_file():
            raise RegistryError(f"unknown model version {version!r} in {self.root}")
        return json.loads(path.read_text(encoding="utf-8"))

    def versions(self) -> list[dict]:
        """A summary of every version, oldest first."""
        if not self.root.is_dir():
            return []
        active = self.active_version()
        found = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not (folder / METADATA_FILE).is_file():
                continue
            try:
                meta = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
            except ValueError:
                continue
            found.append(
                {
                    "version": meta.get("version", folder.name),
                    "created": meta.get("created"),
                    "active": folder.name == active,
                    "datasets": len(meta.get("datasets", [])),
                    "thresholds": meta.get("thresholds"),
                }
            )
        return sorted(found, key=lambda v: (v["created"] or "", v["version"]))

    def promote(self, version: str) -> None:
        """Make `version` active after checking that it loads."""
        load_model(self.path(version))
        with self._locked():
            state = self._read_pointer()
            if state.get("active") == version:
                return
            history = state.get("history", [])
            if state.get("active"):
                history.append(state["active"])
            self._write_pointer({"active": version, "history": history[-50:]})

    def rollback(self) -> str:
        """Re-activate the previously active version and return it."""
        with self._locked():
            state = self._read_pointer()
            history = state.get("history", [])
            while history:
                candidate = history.pop()
                if (self.path(candidate) / METADATA_FILE).is_file():
                    self._write_pointer({"active": candidate, "history": history})
                    return candidate
            raise RegistryError("no previously active model version to roll back to")

    def load_active(self) -> Model:
        version = self.active_version()
        if version is None:
            raise ModelLoadError(
                f"no active model in {self.root}; train one with `commentgate train --activate`"
            )
        return load_model(self.path(version))

    def load(self, version: str | None = None) -> Model:
        return self.load_active() if version is None else load_model(self.path(version))

    def register(
        self,
        *,
        idf,
        columns: dict,
        outputs: list[str],
        mixtures: dict,
        features,
        datasets,
        dev_metrics,
        thresholds,
        **extra,
    ) -> tuple[str, Path, dict]:
        """Write a new version folder atomically; returns (version, path, metadata).

        `columns` maps a weight column's name to (weights, bias); an output is either a column
        of its own or, listed in `mixtures`, a gate-weighted blend of expert columns."""
        self.root.mkdir(parents=True, exist_ok=True)
        created = datetime.now(UTC)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        names = list(columns)
        np.savez_compressed(
            tmp / MODEL_FILE,
            idf=np.asarray(idf, dtype=np.float32),
            weights=np.stack([columns[n][0] for n in names], axis=1).astype(np.float32),
            bias=np.array([columns[n][1] for n in names], dtype=np.float32),
        )
        digest = file_sha256(tmp / MODEL_FILE)
        version = f"{created:%Y%m%d-%H%M%S}-{digest[:6]}"
        files = {f.path: f for d in datasets for f in d.files}
        metadata = {
            "version": version,
            "created": created.isoformat(timespec="seconds"),
            "git_commit": _git_commit(),
            "libraries": _library_versions(),
            "outputs": list(outputs),
            "columns": names,
            "mixtures": mixtures,
            "features": asdict(features),
            "data_files": [
                {"path": _display_path(f.path), "sha256": f.sha256, "rows": f.rows, "role": f.role}
                for f in files.values()
            ],
            "datasets": [
                {"task": d.task, "name": d.name, "train_rows": len(d.train), "dev_rows": len(d.dev)}
                for d in datasets
            ],
            "dev_metrics": dev_metrics,
            "thresholds": thresholds,
            **extra,
            "files": {MODEL_FILE: digest},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        os.replace(tmp, self.path(version))
        return version, self.path(version), metadata


class ActiveModel:
    """A per-process cache of the active model that notices promotions without a restart."""

    def __init__(self, registry: Registry, check_interval: float = 2.0):
        self.registry = registry
        self.check_interval = check_interval
        self._model: Model | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def _pointer_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.registry.pointer.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    def get(self) -> Model:
        now = time.monotonic()
        if self._model is not None and now - self._checked < self.check_interval:
            return self._model
        with self._lock:
            self._checked = now
            stamp = self._pointer_stamp()
            if self._model is None or stamp != self._stamp:
                version = self.registry.active_version()
                if self._model is None or version != self._model.version:
                    self._model = self.registry.load_active()
                self._stamp = stamp
            return self._model
