"""The model registry: one folder holding every version and a pointer to the active one.

Layout: `<root>/<version>/` (model.npz + metadata.json) and `<root>/active.json`
(`{"active": version, "history": [previous versions]}`), replaced atomically with `os.replace`
under a file lock, so several service instances can share the folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .data import Dataset
from .model import METADATA_FILE, MODEL_FILE, Model, ModelLoadError, file_sha256, load_model

__all__ = ["Registry", "ActiveModel", "RegistryError", "describe_data"]

POINTER_FILE = "active.json"
_LOCK_FILE = ".lock"
logger = logging.getLogger(__name__)


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
    """A data file by its folder and name ("spam/sms_spam_train.csv", "feedback/…"): where the
    data lay on the training machine means nothing to whoever reads the metadata."""
    return Path(*path.parts[-2:]).as_posix()


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

    def _read_pointer(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = json.loads(self.pointer.read_text(encoding="utf-8"))
            return state
        except FileNotFoundError:
            return {"active": None, "history": []}
        except ValueError as exc:
            raise RegistryError(f"{self.pointer} is corrupt: {exc}") from exc

    def _write_pointer(self, state: Mapping[str, Any]) -> None:
        tmp = self.root / f".{POINTER_FILE}.{uuid.uuid4().hex}"
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        os.replace(tmp, self.pointer)

    def path(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise RegistryError(f"invalid model version {version!r}")
        return self.root / version

    def active_version(self) -> str | None:
        return self._read_pointer().get("active")

    def show(self, version: str) -> dict[str, Any]:
        path = self.path(version) / METADATA_FILE
        if not path.is_file():
            raise RegistryError(f"unknown model version {version!r} in {self.root}")
        metadata: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return metadata

    def versions(self) -> list[dict[str, Any]]:
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

    def promote_if_none(self, version: str) -> str:
        """Make `version` active unless a version already is (another process may have got
        there first); returns the active version."""
        return self.promote_instead_of(version, None)

    def promote_instead_of(self, version: str, replaced: str | None) -> str:
        """Make `version` active if `replaced` still is, or none is (another process may have
        moved the pointer meanwhile); returns the active version."""
        load_model(self.path(version))
        with self._locked():
            state = self._read_pointer()
            active: str | None = state.get("active")
            if active is not None and active != replaced:
                return active
            history = [*state.get("history", []), *([active] if active else [])]
            self._write_pointer({"active": version, "history": history[-50:]})
            return version

    def rollback(self) -> str:
        """Re-activate the previously active version and return it."""
        with self._locked():
            state = self._read_pointer()
            history: list[str] = state.get("history", [])
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
                f"no active model in {self.root}: `commentgate run` (or serve, or worker) "
                "activates the shipped one; `commentgate models promote VERSION` another"
            )
        return load_model(self.path(version))

    def load(self, version: str | None = None) -> Model:
        return self.load_active() if version is None else load_model(self.path(version))

    def register(
        self, arrays: Mapping[str, npt.NDArray[Any]], metadata: Mapping[str, Any]
    ) -> tuple[str, Path, dict[str, Any]]:
        """Write a new version folder atomically; returns (version, path, metadata).

        `arrays` are saved as they are (`classifier.packing`); `metadata` gains the version,
        the time, the code and library versions and the archive's sha256."""
        self.root.mkdir(parents=True, exist_ok=True)
        created = datetime.now(UTC)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        # load_model reads with allow_pickle=False: an object array is refused here already.
        np.savez_compressed(tmp / MODEL_FILE, allow_pickle=False, **arrays)
        digest = file_sha256(tmp / MODEL_FILE)
        version = f"{created:%Y%m%d-%H%M%S}-{digest[:6]}"
        metadata = {
            "version": version,
            "created": created.isoformat(timespec="seconds"),
            "git_commit": _git_commit(),
            "libraries": _library_versions(),
            **metadata,
            "files": {MODEL_FILE: digest},
        }
        (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, self.path(version))
        except OSError:
            # The same weights trained again within the same second: the same version, kept.
            existing = self._same_model(version, digest)
            shutil.rmtree(tmp, ignore_errors=True)
            if existing is None:
                raise
            return version, self.path(version), existing
        return version, self.path(version), metadata

    def _same_model(self, version: str, digest: str) -> dict[str, Any] | None:
        """The metadata of ``version`` if it is there and holds the model file ``digest``."""
        try:
            metadata: dict[str, Any] = json.loads(
                (self.path(version) / METADATA_FILE).read_text(encoding="utf-8")
            )
        except (OSError, ValueError):
            return None
        return metadata if metadata.get("files", {}).get(MODEL_FILE) == digest else None

    def install(self, folder: Path) -> str:
        """Copy a model folder (the one shipped with the package) into the registry, after
        checking that it loads; returns its version. An installed version is left as it is."""
        model = load_model(folder)
        target = self.path(model.version)
        if not (target / METADATA_FILE).is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".tmp-{uuid.uuid4().hex}"
            shutil.copytree(folder, tmp)
            try:
                os.replace(tmp, target)
            except OSError:  # another process installed it first
                shutil.rmtree(tmp, ignore_errors=True)
        return model.version


def describe_data(datasets: Sequence[Dataset]) -> dict[str, Any]:
    """The data a model learned from, for its metadata: files with hashes, and row counts."""
    files = {f.path: f for d in datasets for f in d.files}
    return {
        "data_files": [
            {"path": _display_path(f.path), "sha256": f.sha256, "rows": f.rows, "role": f.role}
            for f in files.values()
        ],
        "datasets": [
            {"task": d.task, "name": d.name, "train_rows": len(d.train), "dev_rows": len(d.dev)}
            for d in datasets
        ],
    }


class ActiveModel:
    """A per-process cache of the active model that notices promotions without a restart.

    With ``background``, a promoted version loads on a thread of its own while callers keep
    getting the previous one: a caller with a deadline (a synchronous API request) never waits
    for a load, except the very first one, which ``warm`` does when the process starts.
    """

    def __init__(self, registry: Registry, check_interval: float = 2.0, background: bool = False):
        self.registry = registry
        self.check_interval = check_interval
        self.background = background
        self._model: Model | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None

    def _pointer_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.registry.pointer.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ino

    def warm(self) -> Model:
        """Load the active model now (at process start), so no request pays for it."""
        with self._lock:
            if self._model is None:
                self._stamp = self._pointer_stamp()
                self._model = self.registry.load_active()
                self._checked = time.monotonic()
            return self._model

    def get(self) -> Model:
        now = time.monotonic()
        if self._model is not None and now - self._checked < self.check_interval:
            return self._model
        if self._model is None:
            return self.warm()
        with self._lock:
            self._checked = now
            stamp = self._pointer_stamp()
            if stamp != self._stamp and not self._is_loading():
                self._switch(stamp)
            return self._model

    def _is_loading(self) -> bool:
        return self._loading is not None and self._loading.is_alive()

    def _switch(self, stamp: tuple[int, int] | None) -> None:
        """Load the newly active version, here or on a thread; called with the lock held."""
        version = self.registry.active_version()
        if self._model is not None and version == self._model.version:
            self._stamp = stamp
            return
        if not self.background:
            self._model, self._stamp = self.registry.load_active(), stamp
            return
        self._loading = threading.Thread(
            target=self._load_in_background, args=(stamp,), name="model-load", daemon=True
        )
        self._loading.start()

    def _load_in_background(self, stamp: tuple[int, int] | None) -> None:
        """Swap only a fully loaded model in; a failed load keeps the current one (and the
        stamp unchanged, so the next check tries again)."""
        try:
            model = self.registry.load_active()
        except Exception:  # noqa: BLE001 - a broken promotion must not stop scoring
            logger.exception("could not load the newly active model; keeping %s", self.version)
            return
        with self._lock:
            self._model, self._stamp = model, stamp

    @property
    def version(self) -> str | None:
        return self._model.version if self._model is not None else None

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Wait for a background load in progress (tests, and a clean shutdown)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)
