"""The model that ships inside the package, so a new installation scores well from its first
comment without the public corpora (`make model` rebuilds it from them)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from .model import METADATA_FILE

__all__ = ["SHIPPED_MODEL", "shipped_version", "export_folder"]

SHIPPED_MODEL = Path(__file__).with_name("default_model")


def shipped_version() -> str | None:
    """The shipped model's version, or None when this copy of the package carries none."""
    try:
        metadata = json.loads((SHIPPED_MODEL / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version: str | None = metadata.get("version")
    return version


def export_folder(folder: Path, out: Path) -> Path:
    """Replace `out` with a copy of the model folder `folder` (nothing else is left in it: a
    model folder with a foreign file is refused when loaded)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex}"
    shutil.copytree(folder, tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out
