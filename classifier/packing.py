"""The compact on-disk form of a model's arrays, small enough to ship inside the package.

Most of the hashed feature columns are seen in one training comment or none; their weights are
zeroed (`prune`), and only the rows that keep a weight are stored, listed by a bit mask. A weight
is stored as one byte: a sign bit and a 7-bit code on a logarithmic scale between the column's
smallest and largest magnitudes, so small and large weights keep the same relative precision.
The idf vector is stored as float16. Every array is plain numbers: loading runs no code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PACKED_ARRAYS", "pack", "unpack", "prune"]

# name -> (dtype, number of dimensions)
PACKED_ARRAYS: dict[str, tuple[type[np.generic], int]] = {
    "idf": (np.float16, 1),
    "kept": (np.uint8, 1),
    "codes": (np.uint8, 2),
    "scale": (np.float32, 2),
    "bias": (np.float32, 1),
}
_LEVELS = 127  # magnitude codes 1..127; 0 is an exact zero
_SIGN = 0x80
_LOW_QUANTILE = 0.5  # percent: magnitudes below it share the lowest code


def prune(
    weights: npt.NDArray[np.float32], rows_seen: npt.NDArray[np.integer[Any]], min_rows: int
) -> npt.NDArray[np.float32]:
    """Zero the weights of features seen in fewer than `min_rows` training comments."""
    if min_rows <= 1:
        return weights
    return np.where((rows_seen >= min_rows)[:, None], weights, 0).astype(np.float32)


def _column_scale(column: npt.NDArray[np.floating[Any]]) -> tuple[float, float]:
    magnitude = np.abs(column[column != 0])
    if not len(magnitude):
        return 0.0, 0.0
    low = float(np.log(np.percentile(magnitude, _LOW_QUANTILE)))
    high = float(np.log(magnitude.max()))
    return low, max(high - low, 1e-6) / (_LEVELS - 1)


def pack(
    idf: npt.NDArray[np.floating[Any]],
    weights: npt.NDArray[np.floating[Any]],
    bias: npt.NDArray[np.floating[Any]],
) -> dict[str, npt.NDArray[Any]]:
    """The arrays to save; `unpack` of them gives the weights the model will score with."""
    kept = (weights != 0).any(axis=1)
    rows = weights[kept]
    scale = np.array([_column_scale(rows[:, j]) for j in range(rows.shape[1])], dtype=np.float32)
    magnitude = np.abs(rows)
    with np.errstate(divide="ignore"):
        steps = (np.log(magnitude) - scale[:, 0]) / np.maximum(scale[:, 1], 1e-12)
    codes = np.clip(np.rint(steps), 0, _LEVELS - 1).astype(np.uint8) + 1
    codes[magnitude == 0] = 0
    codes[rows < 0] |= _SIGN
    return {
        "idf": np.asarray(idf, dtype=np.float16),
        "kept": np.packbits(kept),
        "codes": codes,
        "scale": scale,
        "bias": np.asarray(bias, dtype=np.float32),
    }


def unpack(
    arrays: Mapping[str, npt.NDArray[Any]],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """idf, dense float32 weights and bias from the saved arrays."""
    idf = arrays["idf"].astype(np.float32)
    kept = np.unpackbits(arrays["kept"], count=len(idf)).astype(bool)
    codes, scale = arrays["codes"], arrays["scale"]
    if codes.shape != (int(kept.sum()), len(arrays["bias"])) or scale.shape != (codes.shape[1], 2):
        raise ValueError("packed model arrays do not fit together")
    magnitude = (codes & ~np.uint8(_SIGN)).astype(np.float32)
    values = np.exp(scale[:, 0] + (magnitude - 1) * scale[:, 1]).astype(np.float32)
    values[magnitude == 0] = 0.0
    values[(codes & _SIGN) != 0] *= -1
    weights = np.zeros((len(idf), codes.shape[1]), dtype=np.float32)
    weights[kept] = values
    return idf, weights, arrays["bias"].astype(np.float32)
