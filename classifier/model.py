"""A trained model: loading it safely from its folder and scoring comments with it.

A version folder holds `model.npz` (plain arrays, read with `allow_pickle=False`, so loading runs
no code) and `metadata.json`, which lists every model file with its sha256. Anything else in the
folder, a changed file or an array of an unexpected type makes `load_model` refuse.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .features import FEATURIZER_VERSION, FeatureConfig, Featurizer, top_terms
from .packing import PACKED_ARRAYS, unpack
from .text import NORMALIZER_VERSION
from .types import CommentInput, Scores

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "Model",
    "ModelLoadError",
    "load_model",
    "MODEL_FILE",
    "METADATA_FILE",
    "file_sha256",
    "code_versions",
]

MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
_DENSE_ARRAYS: dict[str, tuple[type[np.generic], int]] = {
    "idf": (np.float32, 1),
    "weights": (np.float32, 2),
    "bias": (np.float32, 1),
}
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
    """Scores batches of comments with one sparse matrix product for every output.

    An output is either one weight column or a mixture: a softmax gate over data sets (gate
    columns) blending one expert column per data set. A single column is the mixture of one."""

    def __init__(
        self,
        metadata: dict[str, Any],
        idf: npt.NDArray[np.float32],
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
    ) -> None:
        self.metadata = metadata
        self.version: str = metadata["version"]
        self.thresholds: dict[str, dict[str, float]] = metadata["thresholds"]
        self.outputs: list[str] = list(metadata["outputs"])
        self.idf = idf
        self.featurizer = Featurizer(FeatureConfig.from_metadata(metadata["features"]), idf=idf)
        self.weights = weights
        self.bias = bias
        self._plans = output_plans(metadata)
        self._spam = self.outputs.index("spam")
        self._toxicity = self.outputs.index("toxicity")
        self._attributes = [
            (i, n) for i, n in enumerate(self.outputs) if n not in ("spam", "toxicity")
        ]

    def __repr__(self) -> str:
        return f"Model(version={self.version!r}, outputs={self.outputs!r})"

    def _mix(
        self, x: sp.csr_matrix
    ) -> tuple[npt.NDArray[np.float64], list[npt.NDArray[np.floating[Any]]]]:
        """Output logits (rows x outputs) and each output's gate weights (rows x experts)."""
        raw: npt.NDArray[np.float32] = np.asarray(x @ self.weights) + self.bias
        logits = np.empty((raw.shape[0], len(self._plans)))
        gates: list[npt.NDArray[np.floating[Any]]] = []
        g: npt.NDArray[np.floating[Any]]
        for j, (experts, gate) in enumerate(self._plans):
            if gate is None:
                logits[:, j], g = raw[:, experts[0]], np.ones((raw.shape[0], 1))
            else:
                logits[:, j], g = blend(raw[:, experts], raw[:, gate])
            gates.append(g)
        return logits, gates

    def logits(self, comments: Sequence[CommentInput]) -> npt.NDArray[np.float64]:
        """Logits of every output (columns in the order of `outputs`)."""
        return self._mix(self.featurizer.transform(comments))[0]

    def resemblance(
        self, comments: Sequence[CommentInput], top: int = 3
    ) -> list[dict[str, dict[str, float]]]:
        """Per comment and task, the data sets the gate finds it most like, with their weights:
        whose reading of its words the score follows."""
        names = {
            j: [n.rsplit("/", 1)[-1] for n in self.metadata["mixtures"][output]["experts"]]
            for j, output in enumerate(self.outputs)
            if output in ("spam", "toxicity") and self._plans[j][1] is not None
        }
        _, gates = self._mix(self.featurizer.transform(comments))
        found: list[dict[str, dict[str, float]]] = [{} for _ in comments]
        for j, labels in names.items():
            for row, g in enumerate(gates[j]):
                order = np.argsort(-g)[:top]
                found[row][self.outputs[j]] = {labels[i]: round(float(g[i]), 4) for i in order}
        return found

    def score(self, comments: Sequence[CommentInput]) -> list[Scores]:
        """Calibrated probabilities and the most influential terms, one `Scores` per comment."""
        if not comments:
            return []
        kept: list[tuple[list[str], list[str], list[str]]] = []
        x = self.featurizer.weigh(self.featurizer.counts(comments, kept))
        logits, gates = self._mix(x)
        probs = 1.0 / (1.0 + np.exp(-logits))
        spam_gates, toxicity_gates = gates[self._spam], gates[self._toxicity]
        results = []
        for row, p in enumerate(probs.tolist()):
            start, end = x.indptr[row], x.indptr[row + 1]
            results.append(
                Scores(
                    spam=p[self._spam],
                    toxicity=p[self._toxicity],
                    attributes={name: p[i] for i, name in self._attributes},
                    explain=partial(
                        self._explain,
                        kept[row],
                        x.indices[start:end],
                        x.data[start:end],
                        (spam_gates[row], toxicity_gates[row]),
                    ),
                )
            )
        return results

    def _explain(
        self,
        kept: tuple[list[str], list[str], list[str]],
        cols: npt.NDArray[np.int32],
        values: npt.NDArray[np.float32],
        gates: tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]],
    ) -> tuple[list[str], list[str]]:
        """Terms whose weight x value pushed each score up most (the comment's own blend of
        experts gives each term its weight)."""
        rows = self.weights[cols]
        wanted: list[list[tuple[int, float]]] = []
        for output, g in zip((self._spam, self._toxicity), gates, strict=True):
            column = values * (rows[:, self._plans[output][0]] @ g)
            k = min(_EXPLAIN_CANDIDATES, len(column))
            top: Iterable[int] = np.argpartition(-column, k - 1)[:k] if k else []
            wanted.append([(int(cols[i]), float(column[i])) for i in top if column[i] > 0])
        if not wanted[0] and not wanted[1]:
            return [], []
        wanted_idx = {idx for pairs in wanted for idx, _ in pairs}
        readable = self.featurizer.readable_terms(*kept, wanted_idx)
        out: list[list[str]] = []
        for pairs in wanted:
            totals: dict[str, float] = {}
            for idx, value in pairs:
                for term in readable.get(idx, ()):
                    totals[term] = totals.get(term, 0.0) + value
            out.append(top_terms(totals))
        return out[0], out[1]


def softmax(logits: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.floating[Any]]:
    """Row-wise softmax (rows x classes)."""
    g = np.exp(logits - logits.max(axis=1, keepdims=True))
    weights: npt.NDArray[np.floating[Any]] = g / g.sum(axis=1, keepdims=True)
    return weights


def blend(
    experts: npt.NDArray[np.floating[Any]], gate_logits: npt.NDArray[np.floating[Any]]
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]:
    """A mixture's logit per row (the experts' logits weighed by the gate) and the gate weights."""
    g = softmax(gate_logits)
    return (g * experts).sum(axis=1), g


def output_plans(metadata: Mapping[str, Any]) -> list[tuple[list[int], list[int] | None]]:
    """For every output, its expert columns and gate columns (None: a single plain column).

    Models written before mixtures existed have one column per output and no `columns` key."""
    columns = list(metadata.get("columns", metadata["outputs"]))
    index = {name: i for i, name in enumerate(columns)}
    mixtures = metadata.get("mixtures", {})
    plans: list[tuple[list[int], list[int] | None]] = []
    for output in metadata["outputs"]:
        mixture = mixtures.get(output)
        try:
            if mixture is None:
                plans.append(([index[output]], None))
                continue
            experts = [index[n] for n in mixture["experts"]]
            gate = [index[n] for n in mixture["gates"]]
        except (KeyError, TypeError) as exc:
            raise ModelLoadError(
                f"output {output!r} names a column the model lacks: {exc}"
            ) from exc
        if not experts or len(experts) != len(gate):
            raise ModelLoadError(f"output {output!r}: experts and gates do not pair up")
        plans.append((experts, gate))
    return plans


def _read_metadata(folder: Path) -> dict[str, Any]:
    meta_path = folder / METADATA_FILE
    if not folder.is_dir():
        raise ModelLoadError(f"model folder not found: {folder}")
    if not meta_path.is_file():
        raise ModelLoadError(f"{meta_path} is missing: not a model folder")
    try:
        metadata: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{meta_path} is not valid JSON: {exc}") from exc
    missing = {"version", "files", "outputs", "features", "thresholds"} - set(metadata)
    if missing:
        raise ModelLoadError(f"{meta_path} lacks {', '.join(sorted(missing))}")
    return metadata


def _verify_files(folder: Path, metadata: Mapping[str, Any]) -> None:
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


def _check_arrays(
    path: Path,
    arrays: Mapping[str, npt.NDArray[Any]],
    expected: Mapping[str, tuple[type[np.generic], int]],
) -> None:
    for name, (dtype, ndim) in expected.items():
        array = arrays[name]
        if array.dtype != dtype or array.ndim != ndim:
            raise ModelLoadError(
                f"{path}: array {name!r} has untrusted type {array.dtype}/{array.ndim}d"
            )


def _read_arrays(
    path: Path,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """idf, weights and bias from either the dense or the packed (`classifier.packing`) form."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            layout = next((a for a in (_DENSE_ARRAYS, PACKED_ARRAYS) if names == set(a)), None)
            if layout is None:
                raise ModelLoadError(
                    f"{path} holds arrays {sorted(names)}, expected {sorted(PACKED_ARRAYS)}"
                )
            arrays = {name: archive[name] for name in layout}
    except ModelLoadError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise ModelLoadError(
            f"{path} is not a plain numeric array archive (untrusted content): {exc}"
        ) from exc
    _check_arrays(path, arrays, layout)
    if layout is _DENSE_ARRAYS:
        return arrays["idf"], arrays["weights"], arrays["bias"]
    try:
        return unpack(arrays)
    except ValueError as exc:
        raise ModelLoadError(f"{path}: {exc}") from exc


def check_code_versions(metadata: Mapping[str, Any]) -> None:
    """Refuse a model whose text normalizer or featurizer differs from this code's: its weights
    belong to columns that this code would fill differently, and it would score silently wrong."""
    mismatch = code_version_mismatch(metadata)
    if mismatch:
        raise ModelLoadError(
            f"{mismatch}: train a new model with `commentgate train` (or `make model`), or run "
            "the CommentGate release the model was built with"
        )


def code_version_mismatch(metadata: Mapping[str, Any]) -> str | None:
    """Which code version a model's metadata differs from this code in, or None."""
    built = metadata.get("code_versions") or {"normalizer": 1, "featurizer": 1}
    for part, version in code_versions().items():
        if built.get(part) != version:
            return (
                f"model {metadata.get('version')} was built with {part} version "
                f"{built.get(part)}, and this CommentGate has version {version}"
            )
    return None


def code_versions() -> dict[str, int]:
    """The versions of the code that turns text into features, recorded in every model."""
    return {"normalizer": NORMALIZER_VERSION, "featurizer": FEATURIZER_VERSION}


def load_model(path: str | Path) -> Model:
    """Load a model version folder after checking every file against its metadata."""
    folder = Path(path)
    metadata = _read_metadata(folder)
    _verify_files(folder, metadata)
    check_code_versions(metadata)
    idf, weights, bias = _read_arrays(folder / MODEL_FILE)
    try:
        config = FeatureConfig.from_metadata(metadata["features"])
    except TypeError as exc:
        raise ModelLoadError(f"unknown feature settings in {METADATA_FILE}: {exc}") from exc
    n_columns = len(metadata.get("columns", metadata["outputs"]))
    if (
        idf.shape != (config.n_features,)
        or weights.shape != (config.n_features, n_columns)
        or bias.shape != (n_columns,)
    ):
        raise ModelLoadError(f"array shapes in {MODEL_FILE} do not match {METADATA_FILE}")
    if not {"spam", "toxicity"} <= set(metadata["outputs"]):
        raise ModelLoadError("model has no spam and toxicity outputs")
    return Model(metadata, idf, weights, bias)
