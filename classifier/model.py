"""A trained model: loading it safely from its folder and scoring comments with it.

A version folder holds `model.npz` (plain arrays, read with `allow_pickle=False`, so loading runs
no code) and `metadata.json`, which lists every model file with its sha256. Anything else in the
folder, a changed file or an array of an unexpected type makes `load_model` refuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from .features import FeatureConfig, Featurizer, top_terms
from .types import CommentInput, Scores

__all__ = ["Model", "ModelLoadError", "load_model", "MODEL_FILE", "METADATA_FILE", "file_sha256"]

MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
_ARRAYS = {"idf": 1, "weights": 2, "bias": 1}
_EXPLAIN_CANDIDATES = 12


class ModelLoadError(Exception):
    """A model folder that is missing, incomplete, tampered with or holds foreign content."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Model:
    """Scores batches of comments with one sparse matrix product for every output."""

    def __init__(self, metadata: dict, idf: np.ndarray, weights: np.ndarray, bias: np.ndarray):
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.thresholds: dict = metadata["thresholds"]
        self.outputs: list[str] = list(metadata["outputs"])
        self.featurizer = Featurizer(FeatureConfig(**metadata["features"]), idf=idf)
        self.weights = weights
        self.bias = bias
        self._spam = self.outputs.index("spam")
        self._toxicity = self.outputs.index("toxicity")
        self._explained = np.ascontiguousarray(weights[:, [self._spam, self._toxicity]])
        self._attributes = [
            (i, n) for i, n in enumerate(self.outputs) if n not in ("spam", "toxicity")
        ]

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, outputs={self.outputs!r})"

    def logits(self, comments: Sequence[CommentInput]) -> np.ndarray:
        x = self.featurizer.transform(comments)
        return np.asarray(x @ self.weights) + self.bias

    def score(self, comments: Sequence[CommentInput]) -> list[Scores]:
        """Calibrated probabilities and the most influential terms, one `Scores` per comment."""
        if not comments:
            return []
        kept: list = []
        x = self.featurizer.weigh(self.featurizer.counts(comments, kept))
        probs = 1.0 / (1.0 + np.exp(-(np.asarray(x @ self.weights) + self.bias)))
        results = []
        for row, p in enumerate(probs.tolist()):
            start, end = x.indptr[row], x.indptr[row + 1]
            results.append(
                Scores(
                    spam=p[self._spam],
                    toxicity=p[self._toxicity],
                    attributes={name: p[i] for i, name in self._attributes},
                    explain=partial(
                        self._explain, kept[row], x.indices[start:end], x.data[start:end]
                    ),
                )
            )
        return results

    def _explain(self, kept: tuple, cols: np.ndarray, values: np.ndarray) -> tuple[list, list]:
        """Terms whose weight x value pushed each score up most."""
        contrib = values[:, None] * self._explained[cols]
        wanted = []
        for j in range(2):
            column = contrib[:, j]
            k = min(_EXPLAIN_CANDIDATES, len(column))
            top = np.argpartition(-column, k - 1)[:k] if k else []
            wanted.append([(int(cols[i]), float(column[i])) for i in top if column[i] > 0])
        if not wanted[0] and not wanted[1]:
            return [], []
        wanted_idx = {idx for pairs in wanted for idx, _ in pairs}
        readable = self.featurizer.readable_terms(*kept, wanted_idx)
        out = []
        for pairs in wanted:
            totals: dict[str, float] = {}
            for idx, value in pairs:
                for term in readable.get(idx, ()):
                    totals[term] = totals.get(term, 0.0) + value
            out.append(top_terms(totals))
        return out[0], out[1]


def _read_metadata(folder: Path) -> dict:
    meta_path = folder / METADATA_FILE
    if not folder.is_dir():
        raise ModelLoadError(f"model folder not found: {folder}")
    if not meta_path.is_file():
        raise ModelLoadError(f"{meta_path} is missing: not a model folder")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path} is not valid JSON: {exc}") from exc
    missing = {"version", "files", "outputs", "features", "thresholds"} - set(metadata)
    if missing:
        raise ModelLoadError(f"{meta_path} lacks {', '.join(sorted(missing))}")
    return metadata


def _verify_files(folder: Path, metadata: dict) -> None:
    listed = metadata["files"]
    if set(listed) != {MODEL_FILE}:
        raise ModelLoadError(
            f"metadata lists unexpected model files {sorted(listed)}; expected {MODEL_FILE}"
        )
    for path in folder.iterdir():
        if path.name not in listed and path.name != METADATA_FILE:
            raise ModelLoadError(
                f"foreign file {path.name!r} in model folder {folder}: refusing to load"
            )
    for name, expected in listed.items():
        path = folder / name
        if not path.is_file():
            raise ModelLoadError(f"model file {path} is missing")
        actual = file_sha256(path)
        if actual != expected:
            raise ModelLoadError(
                f"model file {path} was modified: sha256 {actual[:12]}… does not match "
                f"{expected[:12]}… recorded in {METADATA_FILE}"
            )


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) != set(_ARRAYS):
                raise ModelLoadError(
                    f"{path} holds arrays {sorted(archive.files)}, expected {sorted(_ARRAYS)}"
                )
            arrays = {name: archive[name] for name in _ARRAYS}
    except ModelLoadError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ModelLoadError(
            f"{path} is not a plain numeric array archive (untrusted content): {exc}"
        ) from exc
    for name, array in arrays.items():
        if array.dtype != np.float32 or array.ndim != _ARRAYS[name]:
            raise ModelLoadError(
                f"{path}: array {name!r} has untrusted type {array.dtype}/{array.ndim}d"
            )
    return arrays


def load_model(path: str | Path) -> Model:
    """Load a model version folder after checking every file against its metadata."""
    folder = Path(path)
    metadata = _read_metadata(folder)
    _verify_files(folder, metadata)
    arrays = _read_arrays(folder / MODEL_FILE)
    try:
        config = FeatureConfig(**metadata["features"])
    except TypeError as exc:
        raise ModelLoadError(f"unknown feature settings in {METADATA_FILE}: {exc}") from exc
    n_out = len(metadata["outputs"])
    if arrays["idf"].shape != (config.n_features,) or arrays["weights"].shape != (
        config.n_features,
        n_out,
    ):
        raise ModelLoadError(f"array shapes in {MODEL_FILE} do not match {METADATA_FILE}")
    if not {"spam", "toxicity"} <= set(metadata["outputs"]):
        raise ModelLoadError("model has no spam and toxicity outputs")
    return Model(metadata, arrays["idf"], arrays["weights"], arrays["bias"])
